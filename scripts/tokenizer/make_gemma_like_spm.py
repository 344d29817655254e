#!/usr/bin/env python3
"""Builds tests/fixtures/tokenizer/gemma-like-spm/: a small SentencePiece BPE model with the settings
of Gemma's tokenizer.model that decide how white space and chat tokens are handled, and the answers
of sentencepiece and transformers for it (tests/fixtures/tokenizer/gemma-like-spm.goldens.json.zst,
compressed with `zstd -19`).

No Gemma file is needed (none may be downloaded here): the model is trained by sentencepiece's own
trainer on a made-up corpus, with Gemma's settings that matter:
  * model_type BPE, byte_fallback, split_digits, split_by_whitespace false, identity normalizer,
    add_dummy_prefix false, remove_extra_whitespaces false;
  * pad/eos/bos/unk at ids 0..3 (CONTROL, CONTROL, CONTROL, UNKNOWN);
  * user-defined pieces: <mask>, <start_of_turn>, <end_of_turn>, and runs of 2..31 "▁" (spaces),
    1..31 newlines and 1..31 tabs. SentencePiece matches user-defined pieces in the normalized text,
    longest first, so a run of more than 31 spaces is 31 + the rest;
  * tokenizer_config.json as Gemma's: added_tokens_decoder marks pad/eos/bos/unk and
    <start_of_turn>/<end_of_turn> special, and additional_special_tokens lists the two turn tokens.

    pip install sentencepiece protobuf transformers
    python3 scripts/tokenizer/make_gemma_like_spm.py

The goldens hold, per text: sentencepiece's ids (encode, no BOS) and its decoded text, and its ids for
the same model with remove_extra_whitespaces set; per id list:
transformers' GemmaTokenizer decode with and without skip_special_tokens (transformers 5.24 here,
which converts tokenizer.model and reads tokenizer_config.json). <mask> is left out of those lists:
transformers 5's GemmaTokenizer makes "<mask>" its mask token by default (so skips it) where 4.x's
did not, and Gemma's own files do not name it.
"""
import io
import json
import os
import random
import subprocess

import sentencepiece as spm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "gemma-like-spm")
GOLDENS = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "gemma-like-spm.goldens.json.zst")

WORDS = ("the quick brown fox jumps over lazy dog model token space tab line code def return import "
         "class for while if else print value data list dict string number alpha beta gamma delta "
         "user assistant hello world turn start end").split()


def corpus():
    rng = random.Random(1)
    lines = []
    for _ in range(3000):
        indent = rng.choice(["", "", "  ", "    ", "        ", "\t", "\t\t"])
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        lines.append(indent + words + rng.choice(["", ".", ":", "(x, y)", " 123", " 2026", "  # note"]))
    return lines


def train():
    user_defined = (["<mask>", "<start_of_turn>", "<end_of_turn>"] + ["\u2581" * k for k in range(2, 32)] +
                    ["\n" * k for k in range(1, 32)] + ["\t" * k for k in range(1, 32)])
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=out, model_type="bpe", vocab_size=640,
        byte_fallback=True, split_digits=True, split_by_whitespace=False, add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity", character_coverage=1.0,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=user_defined, allow_whitespace_only_pieces=True,
        num_threads=1, minloglevel=2)
    return out.getvalue()


def tokenizer_config(sp):
    def entry(piece):
        return {"content": piece, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {str(sp.piece_to_id(p)): entry(p) for p in specials},
        "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"],
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "clean_up_tokenization_spaces": False,
        "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer",
    }


def texts():
    rng = random.Random(2)
    out = []
    for n in range(1, 81):
        for ws in (" ", "\t", "\n"):
            out.append("data" + ws * n + "model")
        out.append(" " * n)
        out.append(" " * n + "hello world" + "\n" * n)
        mixed = "".join(rng.choice(" \t\n") for _ in range(n))
        out.append("def f():" + mixed + "return value")
        runs = "".join(rng.choice([" ", "  ", "\t", "\n"]) * rng.randint(1, n) for _ in range(3))
        out.append(rng.choice(WORDS) + runs + rng.choice(WORDS) + " " * n + "x" + "\t" * (81 - n))
    out += ["<start_of_turn>user\nhello   world<end_of_turn>\n<start_of_turn>model\n",
            "a" + "\u2581" * 40 + "b",  # the meta symbol itself is what spaces become
            "digits 2026 and 31 spaces" + " " * 31 + "end"]
    return out


def main():
    model = train()
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "tokenizer.model"), "wb") as f:
        f.write(model)
    sp = spm.SentencePieceProcessor(model_proto=model)
    with open(os.path.join(OUT_DIR, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(sp), f, indent=2)
        f.write("\n")

    from transformers import GemmaTokenizer
    reference = GemmaTokenizer.from_pretrained(OUT_DIR)
    encode = [{"text": t, "ids": sp.encode(t), "decoded": sp.decode(sp.encode(t))} for t in texts()]
    # The same model with remove_extra_whitespaces set (Gemma's is false; other models set it): the
    # test appends the same normalizer_spec field to the model's bytes.
    from sentencepiece import sentencepiece_model_pb2
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model)
    proto.normalizer_spec.remove_extra_whitespaces = True
    sp_rew = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
    extra = ["   leading", "trailing   ", "  both  ends  ", "a \u2581 b \u2581\u2581 c", "\u2581\u2581lead", " \t \n  x  \n "]
    # (Not tested: "▁" typed at the very end, which SentencePiece strips and acorn keeps.)
    encode_rew = [{"text": t, "ids": sp_rew.encode(t)} for t in texts() + extra]
    p = sp.piece_to_id
    id_lists = [
        [p("<bos>"), p("<start_of_turn>")] + sp.encode("user\nhello") + [p("<end_of_turn>")] + sp.encode("\n") +
        [p("<start_of_turn>")] + sp.encode("model\nworld  turn") + [p("<end_of_turn>"), p("<eos>")],
        [p("<pad>")] + sp.encode("the    end\t\t") + [p("<unk>"), p("<eos>")],
    ]
    decode = []
    for ids in id_lists:
        decode.append({"ids": ids, "decoded": reference.decode(ids),
                       "decoded_skip_special": reference.decode(ids, skip_special_tokens=True)})
    text = json.dumps({"encode": encode, "encode_remove_extra_whitespaces": encode_rew, "decode": decode}, ensure_ascii=False, indent=0) + "\n"
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", GOLDENS], input=text.encode("utf-8"), check=True)
    print(f"{len(model)} bytes of model, {len(encode)} texts, {len(decode)} id lists")


if __name__ == "__main__":
    main()
