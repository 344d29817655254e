#!/usr/bin/env bash
# Benchmarks llama.cpp and acorn on the same weights: MODEL.gguf as it is for llama-bench, and the
# bundle acorn-convert makes from it (blocks copied byte for byte) for acorn-bench. Not part of CI.
#
# llama.cpp is not vendored in this repository: the script takes the copy inside the
# llama-cpp-python source distribution from PyPI (vendor/llama.cpp), builds only llama-bench into
# a scratch folder (CPU; CUDA as well when nvcc and a GPU are present) and leaves nothing behind in
# the tree.
#
# usage: scripts/gguf/compare_llamacpp.sh MODEL.gguf [ACORN_BUILD_DIR]
#   env: WORK (scratch, default /tmp/acorn-llamacpp), THREADS (default 2), REPS (default 3),
#        N_PROMPT (512), N_GEN (128), LLAMA_CPP_PYTHON_VERSION (pin the sdist, default: latest)
set -euo pipefail

model=${1:?usage: $0 MODEL.gguf [ACORN_BUILD_DIR]}
acorn_build=${2:-build/release}
work=${WORK:-/tmp/acorn-llamacpp}
threads=${THREADS:-2}
reps=${REPS:-3}
n_prompt=${N_PROMPT:-512}
n_gen=${N_GEN:-128}

[[ -f $model ]] || { echo "compare_llamacpp: $model: no such file" >&2; exit 1; }
for tool in acorn-convert acorn-bench; do
  [[ -x $acorn_build/tools/$tool/$tool ]] || {
    echo "compare_llamacpp: $acorn_build/tools/$tool/$tool is missing; build acorn first:" >&2
    echo "  cmake -S . -B $acorn_build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $acorn_build" >&2
    exit 1
  }
done
mkdir -p "$work"

# 1. llama.cpp sources from the llama-cpp-python sdist (pip resolves and verifies the download).
src=$(find "$work" -maxdepth 3 -type d -path '*/vendor/llama.cpp' 2>/dev/null | head -n1 || true)
if [[ -z $src ]]; then
  spec=llama-cpp-python${LLAMA_CPP_PYTHON_VERSION:+==$LLAMA_CPP_PYTHON_VERSION}
  python3 -m pip download --no-binary :all: --no-deps --dest "$work" "$spec"
  sdist=$(ls -t "$work"/llama_cpp_python-*.tar.gz | head -n1)
  tar -xzf "$sdist" -C "$work"
  src=$(find "$work" -maxdepth 3 -type d -path '*/vendor/llama.cpp' | head -n1)
  [[ -n $src ]] || { echo "compare_llamacpp: $sdist has no vendor/llama.cpp" >&2; exit 1; }
fi

# 2. Build llama-bench only (tools/ in newer trees, examples/ in older ones: both switched on).
bench=$work/build/bin/llama-bench
if [[ ! -x $bench ]]; then
  cuda=OFF
  if command -v nvcc >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then cuda=ON; fi
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=$cuda -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF \
    ${GENERATOR:+-G "$GENERATOR"}
  cmake --build "$work/build" --target llama-bench -j "$(nproc)"
fi

# 3. The same weights as an acorn bundle, planned for the prompt length and context the test needs.
bundle=$work/$(basename "${model%.gguf}").acorn
"$acorn_build/tools/acorn-convert/acorn-convert" "$model" -o "$bundle" --quiet \
  --max-tokens "$n_prompt" --context $((n_prompt + n_gen))

# 4. Both benchmarks, same prompt/generation lengths, threads and repetitions.
echo "== llama.cpp ($(basename "$src"), $(git -C "$src" describe --tags 2>/dev/null || basename "$(dirname "$(dirname "$src")")"))"
"$bench" -m "$model" -p "$n_prompt" -n "$n_gen" -t "$threads" -r "$reps"
echo
echo "== acorn"
"$acorn_build/tools/acorn-bench/acorn-bench" -m "$bundle" -p "$n_prompt" -n "$n_gen" -t "$threads" -r "$reps"
