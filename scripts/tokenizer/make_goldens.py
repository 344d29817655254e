#!/usr/bin/env python3
"""Writes the tokenizer goldens: what Hugging Face `tokenizers` (PyPI) answers for every tokenizer
fixture and every corpus text. tests/tokenizer checks acorn against these files; no Python runs at
test time.

    pip install tokenizers            # 0.23.3 made the committed goldens
    python3 scripts/tokenizer/make_goldens.py

Reads tests/fixtures/tokenizer/{*.tokenizer.json, *.tokenizer.json.zst} (made by make_fixtures.py)
and writes, in the same folder:
  corpus.json     the texts: {"name", "text"} or, for bytes that are not UTF-8, {"name", "hex"}
  variants.json   tokenizers derived from a real one by replacing pipeline parts ("set") and adding
                  tokens ("add_tokens"), to cover the normalizers, pre-tokenizers, decoders and
                  added-token options the real files do not use
  goldens.json    {tokenizer: [{"name", "ids", "ids_no_special", "decoded", "decoded_skip_special"}]}
                  ids: encode(text, add_special_tokens=True); decoded: decode(ids, False);
                  decoded_skip_special: decode(ids, True). Invalid UTF-8 is first decoded the way
                  acorn documents: bytes.decode("utf-8", "replace").
Padding and truncation settings of a file are switched off (acorn leaves them to the caller).
"""
import argparse
import json
import os
import random
import subprocess

import tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests/fixtures/tokenizer")

BASES = ["bert-minilm", "llama2-spm", "llama3", "gpt2"]

ENGLISH = ("The quick brown fox jumps over the lazy dog. It wasn't the first time; the dog's owner "
           "had said so, twice! \"Really?\" she asked -- and then (quietly) left at 5:30pm.")
PYTHON = "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n"
CPP = "int main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;  // double\n\treturn v[0] != 2;\n}\n"


def corpus():
    texts = [
        ("empty", ""),
        ("hello", "Hello world"),
        ("leading_space", " Hello world"),
        ("spaces", "Hello  world   multiple    spaces"),
        ("newlines", "\n\n\nnewlines\n\nend\n"),
        ("tabs_crlf", "tabs\tand\r\nCRLF\r\n\tindent"),
        ("trailing_space", "end   "),
        ("only_spaces", "     "),
        ("space_newline_mix", "a \n \n b  \n\n  c"),
        ("english", ENGLISH),
        ("python", PYTHON),
        ("cpp", CPP),
        ("numbers", "1234567890 3.14159 1,000,000 2024-01-01 0x1F -42 1e-9 ½ ² ٣ ४"),
        ("contractions", "I'm you're he'll we'd it's IT'S DON'T They've I'D"),
        ("cjk", "日本語のテキストです。中文测试，繁體中文。"),
        ("korean", "안녕하세요, 세계! 한국어 텍스트입니다."),
        ("greek", "Καλημέρα κόσμε, ΣΊΣΥΦΟΣ ὀδυσσεύς"),
        ("cyrillic", "Привет, мир! Ёжик в тумане."),
        ("emoji", "👨‍👩‍👧‍👦 family 👍🏽 ok 🥰🫠 ❤️ 🇫🇷"),
        ("combining", "e\u0301 cafe\u0301 café Å Å Ω ﬁ ½ ① ㈱ ｶﾀｶﾅ x\u0323\u0307"),
        ("casing", "héllo wörld Straße İstanbul ǅemal ΑΣ ﬀ"),
        ("specials", "<s>Hello</s> [CLS] foo [SEP] <|begin_of_text|>hi<|eot_id|> <|endoftext|>[MASK]x"),
        ("specials_spaced", "  <s>  a  </s>  [UNK] <unk> <|end_of_text|>  "),
        ("long_word", "a" * 3000),
        ("long_mixed_word", "supercalifragilistic" * 40),
        ("long_number", "9" * 500),
        ("punctuation", "!!!??? ... --- *** ((())) {}[] @#$%^&* ''\"\" ``"),
        ("url_email", "https://example.com/path?q=1&r=two#frag mail: a.b+c@example.org"),
        ("unicode_spaces", "\u00a0nbsp\u3000ideographic\u2009thin\u200bzero\u2028line"),
        ("controls", "a\x00b\x07c\u200bd\ufeffe\x1bf"),
        ("mixed_scripts", "English, Русский, 中文, 한국어, العربية, עברית, हिन्दी, ไทย"),
        ("arabic_hebrew", "مرحبا بالعالم שלום עולם"),
        ("private_use", "\ue000\U000f0000 \ufffd"),
        ("added_tokens", "hello [NEW] world[NEW] <extra>  x <extra>y HELLO Hello"),
        # single_word tests \w (Join_Control and marks count, ½ does not): found by random runs.
        ("single_word_boundaries", "\u200d[NEW] \u2103[NEW]\u093f \u00bd[NEW]\u00bd a[NEW] [NEW]b [NEW]_ [NEW]"),
    ]
    entries = [{"name": n, "text": t} for n, t in texts]
    invalid = [
        ("invalid_utf8", b"abc\xff\xfe def \xe2\x82 ghi \xf0\x9f\x98"),
        ("invalid_overlong", b"\xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80 big"),
        ("invalid_lone_continuation", b"\x80x\xbf\xbf y"),
    ]
    entries += [{"name": n, "hex": b.hex()} for n, b in invalid]
    return entries


def variants():
    meta = "\u2581"
    return [
        {"name": "llama2-metaspace", "base": "llama2-spm",
         "set": {"normalizer": None,
                 "pre_tokenizer": {"type": "Metaspace", "replacement": meta, "prepend_scheme": "first", "split": False},
                 "decoder": {"type": "Metaspace", "replacement": meta, "prepend_scheme": "first", "split": False}},
         "add_tokens": [{"content": "<extra>", "special": False, "lstrip": True, "rstrip": True,
                         "single_word": False, "normalized": False}]},
        {"name": "llama2-metaspace-split", "base": "llama2-spm",
         "set": {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
                 "pre_tokenizer": {"type": "Metaspace", "replacement": meta, "prepend_scheme": "always", "split": True},
                 "decoder": {"type": "Sequence", "decoders": [
                     {"type": "ByteFallback"},
                     {"type": "Metaspace", "replacement": meta, "prepend_scheme": "always", "split": True}]}}},
        {"name": "bert-variant", "base": "bert-minilm",
         "set": {"normalizer": {"type": "Sequence", "normalizers": [
                     {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
                     {"type": "Strip", "strip_left": True, "strip_right": True}]},
                 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                     {"type": "Whitespace"}, {"type": "Digits", "individual_digits": True}]}},
         "add_tokens": [{"content": "[NEW]", "special": False, "lstrip": False, "rstrip": False,
                         "single_word": True, "normalized": True},
                        {"content": "Hello", "special": False, "lstrip": False, "rstrip": False,
                         "single_word": False, "normalized": True}]},
        {"name": "bert-variant2", "base": "bert-minilm",
         "set": {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "NFKD"}, {"type": "NFC"}]},
                 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                     {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "MergedWithPrevious"},
                     {"type": "Digits", "individual_digits": False}]},
                 "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]},
                 "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False}}},
        {"name": "bert-nolower", "base": "bert-minilm",
         "set": {"normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": False,
                                "strip_accents": None, "lowercase": False}}},
        {"name": "gpt2-prefix", "base": "gpt2",
         "set": {"normalizer": {"type": "Replace", "pattern": {"Regex": "\\s{2,}"}, "content": " "},
                 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                   "use_regex": True}}},
        {"name": "gpt2-splits", "base": "gpt2",
         "set": {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                     {"type": "Split", "pattern": {"String": "-"}, "behavior": "Removed", "invert": False},
                     {"type": "Split", "pattern": {"Regex": "[0-9]+"}, "behavior": "MergedWithPrevious", "invert": False},
                     {"type": "Split", "pattern": {"Regex": "\\p{P}"}, "behavior": "Contiguous", "invert": False},
                     {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": False},
                     {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
                 "decoder": {"type": "Sequence", "decoders": [
                     {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
                     {"type": "Replace", "pattern": {"String": "o"}, "content": "0"},
                     {"type": "Strip", "content": "H", "start": 2, "stop": 0}]}}},
        {"name": "gpt2-invert", "base": "gpt2",
         "set": {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                     {"type": "Split", "pattern": {"Regex": "\\p{L}+|(?i:hello)"}, "behavior": "Removed", "invert": True},
                     {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}}},
        {"name": "llama3-rstrip", "base": "llama3",
         "add_tokens": [{"content": "<extra>", "special": True, "lstrip": False, "rstrip": True,
                         "single_word": False, "normalized": False},
                        {"content": "[NEW]", "special": False, "lstrip": True, "rstrip": False,
                         "single_word": True, "normalized": False}]},
    ]


def load_base(name):
    path = os.path.join(FIXTURES, name + ".tokenizer.json")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return json.loads(f.read())
    out = subprocess.run(["zstd", "-d", "-q", "-c", path + ".zst"], check=True, capture_output=True).stdout
    return json.loads(out)


def apply_variant(base, variant):
    j = json.loads(json.dumps(base))
    for key, value in variant.get("set", {}).items():
        j[key] = value
    next_id = max([len(j["model"]["vocab"])] + [t["id"] + 1 for t in j["added_tokens"]])
    for t in variant.get("add_tokens", []):
        t = dict(t)
        t["id"] = next_id
        next_id += 1
        j["added_tokens"].append(t)
    return j


def run(tok_json, entries):
    tok = tokenizers.Tokenizer.from_str(json.dumps(tok_json))
    tok.no_padding()
    tok.no_truncation()
    cases = []
    for e in entries:
        text = e["text"] if "text" in e else bytes.fromhex(e["hex"]).decode("utf-8", "replace")
        ids = tok.encode(text, add_special_tokens=True).ids
        cases.append({
            "name": e["name"],
            "ids": ids,
            "ids_no_special": tok.encode(text, add_special_tokens=False).ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    return cases


def random_texts(count, seed):
    """Random strings drawn from the character classes tokenizers care about, for differential runs."""
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "  \t\n\r",
        "'sStTdDmMlLrReEvV", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~", "éèêëÉàÅçñßÆøœĳǅİıſΣσςΑΩ",
        "\u0301\u0308\u0323\u0327\u064b\u093f\u094d", "日本語中文字한국어가나다ひらがなカタカナ",
        "ЁёЖжЯяΔδλ", "١٢٣४५६½²③", "\u00a0\u2009\u3000\u200b\u200d\ufeff\u2028\x00\x07\x1b",
        "👍🏽👨‍👩‍👧😀🥰🫠❤️", "ﬁﬀ㈱ｶﾀ℃№™", "\ue000\U000f0000\ufffd", "\u2581",
        ["<s>", "</s>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "<|begin_of_text|>", "<|eot_id|>",
         "<|endoftext|>", "[NEW]", "<extra>", "Hello", "hello"],
    ]
    out = []
    for i in range(count):
        parts = []
        for _ in range(rng.randint(0, 40)):
            pool = rng.choice(pools)
            parts.append(rng.choice(pool) * (rng.randint(1, 4) if rng.random() < 0.2 else 1))
        out.append({"name": f"random_{i}", "text": "".join(parts)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=FIXTURES, help="where corpus.json, variants.json, goldens.json go")
    ap.add_argument("--random", type=int, default=0, help="append N random texts (differential runs)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    entries = corpus() + random_texts(args.random, args.seed)
    vs = variants()
    bases = {name: load_base(name) for name in BASES}
    goldens = {"tokenizers_version": tokenizers.__version__}
    for name, j in bases.items():
        goldens[name] = run(j, entries)
    for v in vs:
        goldens[v["name"]] = run(apply_variant(bases[v["base"]], v), entries)
    # Variants get ids after the base's; the test recomputes them the same way.
    for name, data in (("corpus.json", entries), ("variants.json", vs), ("goldens.json", goldens)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=None if name == "goldens.json" else 1)
            f.write("\n")
        print("wrote", name, os.path.getsize(os.path.join(args.out, name)), "bytes")


if __name__ == "__main__":
    main()
