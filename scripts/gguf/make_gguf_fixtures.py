#!/usr/bin/env python3
"""Writes the GGUF test files in tests/fixtures/gguf from the transformers checkpoints in
tests/fixtures/llama, the way llama.cpp's convert_hf_to_gguf.py would write them:

- llama.* hyper-parameters, general.*, a chat template, a small tokenizer;
- attn_q / attn_k rows permuted for llama.cpp's interleaved RoPE (LlamaModel.permute);
- 1-D tensors in F32, matrices in the file's type; Q8_0 / Q4_0 blocks made by gguf.quants
  (ggml's reference quantizers); the "mixed" file gives each matrix its own type (F16 output,
  Q4_1 / Q5_0 / Q5_1 / Q4_0 / Q8_0 in turn elsewhere);
- llama3 RoPE scaling as the rope_freqs.weight tensor (LlamaModel.generate_extra_tensors).

and BERT files the way its BertModel conversion writes them (bert.* keys, "phantom space" WordPiece
vocabulary, cls/sep as llama.cpp's special-token ids): from tests/fixtures/bert, plus one small
random-weight model that carries the real all-MiniLM-L6-v2 vocabulary
(tests/fixtures/tokenizer/bert-minilm.tokenizer.json) for the tokenizer tests.

Needs only numpy and PyPI's `gguf` (pip install gguf). Usage:
    python3 scripts/gguf/make_gguf_fixtures.py [--src tests/fixtures/llama] [--out tests/fixtures/gguf]
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

# (fixture, ggml type of the matrices, tokenizer kind, output name)
FILES = [
    ("mha_untied", T.F32, "spm", "mha_untied.f32.gguf"),
    ("mha_untied", T.F16, "spm", "mha_untied.f16.gguf"),
    ("mha_untied", T.Q8_0, "spm", "mha_untied.q8_0.gguf"),
    ("mha_untied", T.Q4_0, "spm", "mha_untied.q4_0.gguf"),
    ("gqa_tied_llama3", T.F32, "bpe", "gqa_tied_llama3.f32.gguf"),
    ("gqa_tied_llama3", T.BF16, "bpe", "gqa_tied_llama3.bf16.gguf"),
    ("mha_untied", "mixed", "spm", "mha_untied.mixed.gguf"),
]

# The mixed file: each matrix in its own type, as llama.cpp's presets mix them (an F16 output
# matrix, legacy block types in the layers).
MIXED_CYCLE = [T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_0, T.Q8_0]


def mixed_type(gname, index):
    if gname == "output.weight":
        return T.F16
    if gname == "token_embd.weight":
        return T.Q5_1
    return MIXED_CYCLE[index % len(MIXED_CYCLE)]

CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"


def load_safetensors(directory):
    """name -> float32 array (bf16/f16 widened exactly), without torch."""
    files = sorted(f for f in os.listdir(directory) if f.endswith(".safetensors"))
    out = {}
    for f in files:
        raw = open(os.path.join(directory, f), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        base = 8 + n
        for name, info in header.items():
            if name == "__metadata__":
                continue
            a, b = info["data_offsets"]
            buf = raw[base + a: base + b]
            if info["dtype"] == "F32":
                arr = np.frombuffer(buf, dtype="<f4")
            elif info["dtype"] == "F16":
                arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
            elif info["dtype"] == "BF16":
                arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                raise SystemExit(f"{f}: {name}: dtype {info['dtype']} not handled")
            out[name] = arr.reshape(info["shape"]).copy()
    return out


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py, LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rope_parameters(cfg):
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    return theta, rope


def llama3_rope_factors(cfg, head_dim):
    # convert_hf_to_gguf.py, LlamaModel.generate_extra_tensors (float32 freqs, Python floats after)
    theta, rope = rope_parameters(cfg)
    freqs = 1.0 / (np.float32(theta) ** (np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim)))
    factor = rope.get("factor", 8.0)
    low = rope.get("low_freq_factor", 1.0)
    high = rope.get("high_freq_factor", 4.0)
    old_ctx = rope.get("original_max_position_embeddings", 8192)
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / float(freq)
        if wavelen < high_wavelen:
            factors.append(1)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def add_spm_tokenizer(w, vocab):
    """A small SentencePiece-style vocabulary: <unk> <s> </s>, byte pieces, letters, a few merges."""
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
    pieces = ["\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces += ["\u2581" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces += ["he", "ll", "llo", "\u2581he", "\u2581hello", "or", "ld", "\u2581wor", "\u2581world"]
    for i, p in enumerate(pieces):
        tokens.append(p)
        scores.append(-float(i))
        types.append(1)
    b = 0
    while len(tokens) < vocab and b < 256:
        tokens.append(f"<0x{b:02X}>")
        scores.append(0.0)
        types.append(6)
        b += 1
    while len(tokens) < vocab:
        tokens.append(f"<unused{len(tokens)}>")
        scores.append(0.0)
        types.append(5)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens[:vocab])
    w.add_token_scores(scores[:vocab])
    w.add_token_types(types[:vocab])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)


def byte_to_unicode():
    # GPT-2's printable stand-ins for bytes
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def add_bpe_tokenizer(w, vocab):
    """A small byte-level BPE vocabulary (Llama 3 style: llama-bpe pre-tokenizer, BOS added)."""
    u = byte_to_unicode()
    tokens = [u[b] for b in range(256)]
    merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"),
              ("l", "d"), ("Ġwor", "ld"), ("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
    seen = set(tokens)
    kept = []
    for a, b in merges:
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
            kept.append(f"{a} {b}")
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    n_normal = vocab - len(specials)
    types = [1] * len(tokens)
    while len(tokens) < n_normal:
        tokens.append(f"<|reserved_{len(tokens)}|>")
        types.append(4)
    tokens += specials
    types += [3] * len(specials)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(kept)
    w.add_bos_token_id(vocab - 3)
    w.add_eos_token_id(vocab - 2)
    w.add_eot_token_id(vocab - 1)
    w.add_add_bos_token(True)


GGUF_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf):
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    if hf in top:
        return top[hf]
    parts = hf.split(".")
    assert parts[0] == "model" and parts[1] == "layers", hf
    return f"blk.{parts[2]}." + GGUF_NAMES[".".join(parts[3:])]


def write(src_dir, qtype, tok, path):
    cfg = json.load(open(os.path.join(src_dir, "config.json")))
    weights = load_safetensors(src_dir)
    heads, kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    theta, rope = rope_parameters(cfg)

    w = gguf.GGUFWriter(path, "llama")
    w.add_name(os.path.basename(src_dir))
    w.add_license("apache-2.0")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(theta)
    w.add_rope_dimension_count(head_dim)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type({T.F32: 0, T.F16: 1, T.Q4_0: 2, T.Q8_0: 7, T.BF16: 32, "mixed": 3}[qtype])
    w.add_chat_template(CHAT_TEMPLATE)
    (add_spm_tokenizer if tok == "spm" else add_bpe_tokenizer)(w, cfg["vocab_size"])

    if rope.get("rope_type") == "llama3":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(cfg, head_dim))
    for index, name in enumerate(sorted(weights)):
        data = weights[name]
        if name.endswith("q_proj.weight"):
            data = permute(data, heads, heads)
        elif name.endswith("k_proj.weight"):
            data = permute(data, heads, kv)
        gname = gguf_name(name)
        if qtype == "mixed" and data.ndim > 1:
            t = mixed_type(gname, index)
            if t == T.F16:
                w.add_tensor(gname, data.astype(np.float16))
            else:
                w.add_tensor(gname, gguf.quants.quantize(data.astype(np.float32), t), raw_dtype=t)
        elif data.ndim == 1 or qtype == T.F32 or qtype == "mixed":
            w.add_tensor(gname, data.astype(np.float32))
        elif qtype == T.F16:
            w.add_tensor(gname, data.astype(np.float16))
        else:
            q = gguf.quants.quantize(data.astype(np.float32), qtype)
            w.add_tensor(gname, q, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


BERT_FILES = [
    ("bert_h64", T.F32, "bert_h64.f32.gguf"),
    ("st_mean_norm", T.Q8_0, "st_mean_norm.q8_0.gguf"),
]
BERT_NAMES = {
    "embeddings.word_embeddings.weight": "token_embd.weight",
    "embeddings.position_embeddings.weight": "position_embd.weight",
    "embeddings.token_type_embeddings.weight": "token_types.weight",
    "embeddings.LayerNorm.weight": "token_embd_norm.weight",
    "embeddings.LayerNorm.bias": "token_embd_norm.bias",
}
BERT_LAYER = {
    "attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm",
}


def bert_gguf_name(hf):
    hf = hf[5:] if hf.startswith("bert.") else hf
    if hf in BERT_NAMES:
        return BERT_NAMES[hf]
    parts = hf.split(".")
    if parts[0] != "encoder" or parts[1] != "layer":
        return None  # pooler, classifier: not used for embeddings
    return f"blk.{parts[2]}." + BERT_LAYER[".".join(parts[3:-1])] + "." + parts[-1]


def add_bert_tokenizer(w, vocab_size, root):
    """The WordPiece vocabulary (its first vocab_size tokens), as llama.cpp's BertModel.set_vocab writes it."""
    tj = json.load(open(os.path.join(root, "tests/fixtures/tokenizer/bert-minilm.tokenizer.json")))
    by_id = {i: t for t, i in tj["model"]["vocab"].items()}
    special = {t["id"] for t in tj["added_tokens"] if t["special"]}
    tokens, types = [], []
    for i in range(vocab_size):
        tok = by_id[i]
        if i in special:
            tokens.append(tok)
            types.append(3)  # CONTROL
        else:
            tokens.append(tok[2:] if tok.startswith("##") else "\u2581" + tok)
            types.append(1)
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    ids = {t: i for i, t in by_id.items() if i < vocab_size}
    w.add_unk_token_id(ids["[UNK]"])
    w.add_sep_token_id(ids["[SEP]"])
    w.add_pad_token_id(ids["[PAD]"])
    w.add_mask_token_id(ids["[MASK]"])


def write_bert(cfg, weights, qtype, pooling, path, root):
    w = gguf.GGUFWriter(path, "bert")
    w.add_name(os.path.basename(path))
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_layer_norm_eps(cfg.get("layer_norm_eps", 1e-12))
    w.add_causal_attention(False)
    if pooling is not None:
        w.add_pooling_type(pooling)
    w.add_file_type({T.F32: 0, T.Q8_0: 7}[qtype])
    w.add_token_type_count(cfg.get("type_vocab_size", 2))
    add_bert_tokenizer(w, cfg["vocab_size"], root)
    for name in sorted(weights):
        gname = bert_gguf_name(name)
        if gname is None:
            continue
        data = weights[name].astype(np.float32)
        table = gname in ("position_embd.weight", "token_types.weight")
        if data.ndim == 1 or qtype == T.F32 or table:
            w.add_tensor(gname, data)
        else:
            w.add_tensor(gname, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def random_bert_weights(cfg, seed):
    rng = np.random.default_rng(seed)
    H, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    out = {"embeddings.word_embeddings.weight": (cfg["vocab_size"], H),
           "embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
           "embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
           "embeddings.LayerNorm.weight": (H,), "embeddings.LayerNorm.bias": (H,)}
    for l in range(L):
        p = f"encoder.layer.{l}."
        for m, shape in (("attention.self.query", (H, H)), ("attention.self.key", (H, H)),
                         ("attention.self.value", (H, H)), ("attention.output.dense", (H, H)),
                         ("intermediate.dense", (F, H)), ("output.dense", (H, F))):
            out[p + m + ".weight"] = shape
            out[p + m + ".bias"] = (shape[0],)
        for m in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[p + m + ".weight"] = (H,)
            out[p + m + ".bias"] = (H,)
    return {k: (rng.standard_normal(v) * 0.05 + (1.0 if k.endswith("LayerNorm.weight") else 0.0)).astype(np.float32)
            for k, v in out.items()}


def pooling_of(src_dir):
    """llama.cpp's pooling_type from sentence-transformers' Pooling module (None when there is none)."""
    modules = os.path.join(src_dir, "modules.json")
    if not os.path.exists(modules):
        return None
    for m in json.load(open(modules)):
        if m["type"].endswith("models.Pooling"):
            pc = json.load(open(os.path.join(src_dir, m["path"], "config.json")))
            return gguf.PoolingType.CLS if pc.get("pooling_mode_cls_token") else gguf.PoolingType.MEAN
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(root, "tests/fixtures/llama"))
    ap.add_argument("--out", default=os.path.join(root, "tests/fixtures/gguf"))
    ap.add_argument("--only", nargs="*", help="write only these files (names as in FILES)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for fixture, qtype, tok, name in FILES:
        if args.only and name not in args.only:
            continue
        path = os.path.join(args.out, name)
        write(os.path.join(args.src, fixture), qtype, tok, path)
        print(f"{path}: {os.path.getsize(path)} bytes")
    if args.only:
        return
    bert_src = os.path.join(root, "tests/fixtures/bert")
    for fixture, qtype, name in BERT_FILES:
        d = os.path.join(bert_src, fixture)
        path = os.path.join(args.out, name)
        write_bert(json.load(open(os.path.join(d, "config.json"))), load_safetensors(d), qtype, pooling_of(d), path, root)
        print(f"{path}: {os.path.getsize(path)} bytes")
    # The real vocabulary on a small random model: for the tokenizer, not the numbers.
    cfg = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
           "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    path = os.path.join(args.out, "bert_minilm_vocab.q8_0.gguf")
    write_bert(cfg, random_bert_weights(cfg, 7), T.Q8_0, gguf.PoolingType.MEAN, path, root)
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
