#!/usr/bin/env bash
# The whole test suite with the CUDA backend, on a machine with an NVIDIA GPU (not part of CI, which
# has no GPU). Builds the `cuda` preset, runs every test, then the CUDA kernel tests again under
# compute-sanitizer (memcheck; racecheck on the shared-memory kernels) where it is installed.
# Logs go to $OUT (default build/gpu-logs). Where flatbuffers is not installed, the .debs in .debs/
# (apt-get download flatbuffers-compiler libflatbuffers-dev libflatbuffers2) are unpacked first.
#
# usage: scripts/cuda/gpu_suite.sh [--no-sanitizer]
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-build/gpu-logs}
mkdir -p "$out"
jobs=$(nproc)

if ! command -v flatc >/dev/null 2>&1 && ls .debs/*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/acorn-fb
  for f in .debs/*.deb; do dpkg -x "$f" /tmp/acorn-fb; done
  export PATH=/tmp/acorn-fb/usr/bin:$PATH
  export LD_LIBRARY_PATH=/tmp/acorn-fb/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
  export CMAKE_PREFIX_PATH=/tmp/acorn-fb/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"

echo "== configure + build (cuda preset, $jobs jobs)"
start=$(date +%s)
if ! cmake --preset cuda > "$out/configure.log" 2>&1; then tail -40 "$out/configure.log"; exit 1; fi
if ! cmake --build --preset cuda -j "$jobs" > "$out/build.log" 2>&1; then
  grep -E "error|Error" -A6 "$out/build.log" | head -120
  exit 1
fi
echo "built in $(( $(date +%s) - start )) s"

echo "== tests"
ctest --preset cuda -j 8 --timeout 600 > "$out/ctest.log" 2>&1
rc=$?
grep -E "tests passed|tests failed" "$out/ctest.log"
grep -E "\*\*\*Failed|\*\*\*Exception|Timeout" "$out/ctest.log" | head -40
grep -h "\[ measured \]" build/cuda/Testing/Temporary/LastTest.log | sort -u > "$out/measured.txt" 2>/dev/null
if [ "${1:-}" != "--no-sanitizer" ] && command -v compute-sanitizer >/dev/null 2>&1; then
  echo "== compute-sanitizer memcheck (CUDA kernel tests)"
  timeout 240 compute-sanitizer --tool memcheck --error-exitcode 9 build/cuda/tests/cuda/acorn_cuda_tests \
    > "$out/memcheck.log" 2>&1
  echo "memcheck exit $? ($(grep -c "Invalid\|out of bounds" "$out/memcheck.log") reports)"
  tail -3 "$out/memcheck.log"
  echo "== compute-sanitizer racecheck (matrix products, attention)"
  timeout 150 compute-sanitizer --tool racecheck --error-exitcode 9 build/cuda/tests/cuda/acorn_cuda_tests \
    --gtest_filter='*Gemm*:*Attention*' > "$out/racecheck.log" 2>&1
  echo "racecheck exit $?"
  grep -E "RACE|hazard" "$out/racecheck.log" | head -5
fi
exit $rc
