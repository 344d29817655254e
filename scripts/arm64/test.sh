#!/usr/bin/env bash
# Cross-builds acorn for aarch64 Linux (preset arm64: Debian's g++-aarch64-linux-gnu) and runs the
# kernel tests and the LLaMA/BERT fixture tests under qemu-aarch64, once per emulated CPU model:
#   max         every extension qemu emulates (dotprod, i8mm): detection must pick neon_i8mm, and the
#               kernel tests force each lower path (neon_dotprod, neon, scalar) in turn;
#   cortex-a53  ARMv8.0, no dotprod, no i8mm: detection must pick neon, the fixture tests run on the
#               baseline kernels, and the kernel tests find the higher paths unsupported.
# The fixture tests compare logits and greedy tokens with transformers' (tests/fixtures), the same
# goldens and bounds as on x86. Installs what is missing (qemu-user, the cross compiler, the arm64
# multiarch zstd and GoogleTest), so it runs on a fresh Debian 12 machine.
# ACORN_ARM64_HEAVY=0 skips the LLaMA/BERT fixture suites (the heavy part under emulation);
# ACORN_ARM64_CPUS overrides the CPU models (names from `qemu-aarch64 -cpu help`).
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/install-deps.sh

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
cross=(g++-aarch64-linux-gnu qemu-user)
# The arm64 C and C++ libraries from multiarch too, so that qemu runs one consistent loader + libc.
multiarch=(libc6:arm64 libstdc++6:arm64 libzstd-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64)
missing=()
for p in "${cross[@]}" "${multiarch[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "arm64/test.sh: installing ${missing[*]}"
  # The arm64 libraries come from Debian's multiarch archive: the same versions as the amd64 ones.
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
start=$(date +%s)
echo "== arm64: configure and build (kernel, LLaMA and BERT test binaries and the tools they run)"
cmake --preset arm64 >/dev/null
cmake --build --preset arm64 -j "$jobs"
echo "== arm64: built in $(( $(date +%s) - start )) s"

expected_isa() {
  case "$1" in
    max) echo neon_i8mm ;;
    cortex-a76|neoverse-n1) echo neon_dotprod ;;
    *) echo neon ;;
  esac
}

# Test folders of build/arm64 to run: the kernels (tests/kernels: the kernel tests, the kernel
# table walk and the thread pool) and the end-to-end fixtures, the heavy part under emulation.
suites=(kernels)
[ "${ACORN_ARM64_HEAVY:-1}" != 0 ] && suites+=(llama bert)
# The MatMul tests force every path the CPU has, so the first (largest) CPU model runs them all;
# the later models check detection, the kernel table and the fixtures on their own best path.
skip=()
for cpu in ${ACORN_ARM64_CPUS:-max cortex-a53}; do
  t0=$(date +%s)
  echo "== arm64: ${suites[*]} under qemu-aarch64 -cpu $cpu (best path: $(expected_isa "$cpu"))"
  # The tests' scratch files (::testing::TempDir) in a folder of this run, not the shared /tmp,
  # where another checkout's tests may be writing the same names.
  tmp=$PWD/build/arm64/tmp/$cpu
  rm -rf "$tmp" && mkdir -p "$tmp"
  for suite in "${suites[@]}"; do
    TEST_TMPDIR=$tmp QEMU_CPU=$cpu ACORN_EXPECT_BEST_ISA=$(expected_isa "$cpu") \
      ctest --test-dir "build/arm64/tests/$suite" --output-on-failure -j "$jobs" --timeout 900 "${skip[@]}"
  done
  skip=(-E '^AllPaths/MatMulTest[.]')
  echo "== arm64: -cpu $cpu took $(( $(date +%s) - t0 )) s"
done
echo "== arm64: all passed in $(( $(date +%s) - start )) s"
