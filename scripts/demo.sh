#!/usr/bin/env bash
# The README's first command: builds acorn and opens a chat with the bundled default model
# (models/acorn-chat-mini.acorn, see models/acorn-chat-mini/MODEL_CARD.md). Extra arguments go to
# acorn-chat, e.g. scripts/demo.sh --prompt "What is 7 plus 8?" or --temp 0.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target acorn-chat >&2
exec build/release/examples/chat/acorn-chat --model models/acorn-chat-mini.acorn "$@"
