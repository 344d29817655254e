#!/usr/bin/env bash
# Installs the Debian packages acorn needs to build and test. Idempotent: packages already present
# are left alone, and apt is only asked when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  flatbuffers-compiler libflatbuffers-dev   # schema compiler + header-only reader
  libzstd-dev                               # compressed bundle segments
  libgtest-dev libgmock-dev                 # tests
  nlohmann-json3-dev                        # JSON for the tools (config.json, tokenizer.json)
  clang                                     # libFuzzer target for the loader
  python3 python3-numpy python3-venv        # test-time fixture checks, the Python binding's venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
