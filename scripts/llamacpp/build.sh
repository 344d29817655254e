#!/usr/bin/env bash
# Builds llama.cpp from the copy inside PyPI's llama-cpp-python source distribution, into a scratch
# folder outside this repository (llama.cpp's code and binaries are never committed): llama-bench,
# llama-quantize and the shared libllama that llama-cpp-python loads (LLAMA_CPP_LIB_PATH). Prints
# the folder with the binaries on its last line. Not part of CI.
#
# usage: scripts/llamacpp/build.sh [--cuda] [--work DIR] [--version V]
#   --cuda     also the CUDA backend (sm_90; set CUDA_ARCHS to change)
#   --work     scratch folder (default /tmp/acorn-llamacpp)
#   --version  llama-cpp-python version to take llama.cpp from (default: the newest on PyPI)
set -euo pipefail
cuda=OFF work=/tmp/acorn-llamacpp version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) cuda=ON; shift ;;
    --work) work=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
src=$(bash "$(dirname "$0")/fetch.sh" "$work" "$version" | tail -n1)
build=$work/build-$( [ $cuda = ON ] && echo cuda || echo cpu )
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$src" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=$( [ $cuda = ON ] && echo OFF || echo ON ) \
  -DGGML_CUDA=$cuda -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$build" --target llama-bench llama-quantize llama -j "$(nproc)" >&2
echo "$build/bin"
