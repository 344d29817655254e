#!/usr/bin/env bash
# The README's first command. Until the chat demo and its default model land, it builds acorn,
# writes a small sample bundle with the BundleWriter and prints it with acorn-inspect.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target acorn-inspect acorn_write_sample
out=build/release/sample.acorn
build/release/tests/bundle/acorn_write_sample "$out"
build/release/tools/acorn-inspect/acorn-inspect "$out"
