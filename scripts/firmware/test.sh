#!/usr/bin/env bash
# The firmware check: builds examples/firmware for a Cortex-M55 with no OS (preset cortex-m55:
# arm-none-eabi, newlib, the model bundle linked into the image), runs the image on QEMU's
# mps3-an547 board, and checks that what the board prints on its UART equals what the same
# program prints when built for the build machine (boards/host): same model, same prompt, greedy.
# Then prints the image's size by part (scripts/firmware/sizes.py; the core is the loader,
# verifier, planner and interpreter). Installs the cross toolchain and QEMU from Debian if missing.
#
# usage: scripts/firmware/test.sh [--host-build DIR] [--prompt TEXT] [--max-tokens N]
#   --host-build  build folder of the host program (default build/firmware-host; scripts/test.sh
#                 passes build/release, already built)
#   --prompt, --max-tokens  what the firmware answers (defaults: examples/firmware/CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."

host_build=build/firmware-host
defs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --host-build) host_build=$2; shift 2 ;;
    --prompt) defs+=("-DACORN_FIRMWARE_PROMPT=$2"); shift 2 ;;
    --max-tokens) defs+=("-DACORN_FIRMWARE_MAX_TOKENS=$2"); shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "firmware/test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "firmware/test.sh: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
jobs=$(nproc)

echo "== firmware: host program ($host_build)"
if [ -f "$host_build/CMakeCache.txt" ]; then
  cmake -S . -B "$host_build" "${defs[@]}" >/dev/null
else
  cmake -S . -B "$host_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACORN_BUILD_TESTS=OFF -DACORN_CUDA=OFF \
    "${defs[@]}" >/dev/null
fi
cmake --build "$host_build" -j "$jobs" --target acorn-firmware

echo "== firmware: Cortex-M55 image (preset cortex-m55)"
cmake --preset cortex-m55 "${defs[@]}" >/dev/null
cmake --build --preset cortex-m55 -j "$jobs"
elf=build/cortex-m55/examples/firmware/acorn-firmware.elf

out=build/cortex-m55/firmware-run
mkdir -p "$out"
"$host_build/examples/firmware/acorn-firmware" > "$out/host.txt"
echo "== firmware: running on qemu-system-arm -M mps3-an547"
start=$(date +%s)
set +e
timeout 600 qemu-system-arm -M mps3-an547 -nographic -monitor none -serial stdio \
  -semihosting-config enable=on,target=native -kernel "$elf" < /dev/null | tr -d '\r' > "$out/board.txt"
rc=${PIPESTATUS[0]}
set -e
cat "$out/board.txt"
echo "(emulated run: $(( $(date +%s) - start )) s, exit status $rc)"
if [ "$rc" -ne 0 ]; then
  echo "firmware/test.sh: FAILED: the board's program ended with status $rc (124: it ran past 600 s)" >&2
  exit 1
fi
# The first line names where the bundle sits in memory, and only the board reports its heap
# ("[heap ...]"); the rest must be equal.
same() { tail -n +2 "$1" | grep -v '^\[heap '; }
if ! diff <(same "$out/host.txt") <(same "$out/board.txt"); then
  echo "firmware/test.sh: FAILED: the board printed other text than the host program ($out/host.txt)" >&2
  exit 1
fi
grep -q "<reply>.*[^ ].*</reply>" "$out/board.txt" || { echo "firmware/test.sh: FAILED: empty reply" >&2; exit 1; }
echo "== firmware: the board's text equals the host's"
echo "== firmware: image sizes (code, read-only and initialized data kept by the link)"
python3 scripts/firmware/sizes.py build/cortex-m55/examples/firmware/acorn-firmware.map
echo "== firmware: passed"
