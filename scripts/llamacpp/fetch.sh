#!/usr/bin/env bash
# Fetches llama.cpp's source from PyPI's llama-cpp-python source distribution into a scratch
# folder outside this repository (llama.cpp's code is never committed) and prints the path of its
# llama.cpp folder on the last line. Reuses an earlier download in the same folder.
#
# usage: scripts/llamacpp/fetch.sh [WORK_DIR] [VERSION]
#   WORK_DIR  scratch folder (default /tmp/acorn-llamacpp)
#   VERSION   llama-cpp-python version (default: the newest on PyPI)
set -euo pipefail
work=${1:-/tmp/acorn-llamacpp}
version=${2:-}
mkdir -p "$work"
src=$(find "$work" -maxdepth 3 -type d -path '*/vendor/llama.cpp' 2>/dev/null | head -n1 || true)
if [ -z "$src" ]; then
  python3 -m pip download --no-binary :all: --no-deps --dest "$work" "llama-cpp-python${version:+==$version}" >&2
  sdist=$(ls -t "$work"/llama_cpp_python-*.tar.gz | head -n1)
  tar -xzf "$sdist" -C "$work"
  src=$(find "$work" -maxdepth 3 -type d -path '*/vendor/llama.cpp' | head -n1)
fi
echo "$src"
