#!/usr/bin/env python3
"""Byte-level BPE tokenizer (vocab 4096) for acorn-chat-mini, trained on the synthetic dialogues.

Writes OUT/tokenizer.json and OUT/tokenizer_config.json (ChatML chat template, eos <|im_end|>,
no BOS). Ids 0, 1, 2 are <|endoftext|>, <|im_start|>, <|im_end|> (special added tokens).

  python3 scripts/train/train_tokenizer.py --out models/acorn-chat-mini/hf
"""

import argparse
import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dialogues import generate, render_chatml  # noqa: E402

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                 " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
                 "{{ '<|im_start|>assistant\\n' }}{% endif %}")


def build(texts, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def write_config(out):
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 512,
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=100000, help="dialogues to train the tokenizer on")
    ap.add_argument("--seed", type=int, default=99, help="data seed (differs from the model's data seed)")
    ap.add_argument("--vocab", type=int, default=4096)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    # The tokenizer learns from the conversation text; the ChatML markup is covered by the
    # special tokens, and role names / newlines are in the rendered text anyway.
    texts = [render_chatml(d) for d in generate(a.n, a.seed)]
    # Add a little general text so that words outside the domain still tokenize compactly.
    extra = [
        "The quick brown fox jumps over the lazy dog.",
        "0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    ]
    tok = build(texts + extra, a.vocab)
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2], [tok.token_to_id(s) for s in SPECIALS]
    tok.save(os.path.join(a.out, "tokenizer.json"))
    write_config(a.out)
    # sanity: round trip and size
    sample = texts[0]
    enc = tok.encode(sample)
    assert tok.decode(enc.ids, skip_special_tokens=False) == sample
    n_tok = sum(len(e.ids) for e in tok.encode_batch(texts[:5000]))
    n_chr = sum(len(t) for t in texts[:5000])
    print(f"vocab {tok.get_vocab_size()}, {n_chr / n_tok:.2f} chars/token on 5000 dialogues")
    print(enc.tokens[:40])


if __name__ == "__main__":
    main()
