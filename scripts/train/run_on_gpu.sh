#!/usr/bin/env bash
# Train acorn-chat-mini on a GPU machine (torch, transformers, tokenizers installed) and pack the
# results. Usage: scripts/train/run_on_gpu.sh OUTDIR [extra train_chat_model.py args]
# First a 60-step smoke run on 2000 dialogues checks the whole path (train, save, reload, decode);
# then the real run. OUTDIR gets train.log and res.tgz split into <=15 MiB parts
# (cat OUTDIR/res.tgz.part-* | tar xz).
set -o pipefail
out=${1:?usage: run_on_gpu.sh OUTDIR}; shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
res=$(mktemp -d)
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 --version
  python3 -m pip list 2>/dev/null | grep -iE '^(torch|transformers|tokenizers|safetensors|numpy) '
  echo "== smoke run"
  python3 "$here/train_chat_model.py" --tokenizer "$repo/models/acorn-chat-mini/hf" --out "$res/smoke/hf" \
    --n 2000 --max-steps 60 --log-every 20 --skip-probes || { echo "smoke run failed"; exit 1; }
  rm -rf "$res/smoke"
  echo "== main run"
  python3 "$here/train_chat_model.py" --tokenizer "$repo/models/acorn-chat-mini/hf" --out "$res/hf" "$@"
} 2>&1 | tee "$out/train.log"
rc=$?
cp "$out/train.log" "$res/"
tar czf "$res.tgz" -C "$res" . && split -b 15m "$res.tgz" "$out/res.tgz.part-"
ls -la "$out"
exit $rc
