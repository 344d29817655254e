#!/usr/bin/env python3
"""Writes a random-weight GGUF file of a real model shape, for benchmarks: llama.cpp reads it as it
is and acorn-convert turns it into a bundle byte for byte, so that both runtimes run the same
weights. Blocks are written straight in their format (random quants, a small fp16 scale per block),
streamed tensor by tensor, so a 7B file needs little memory.

    python3 scripts/bench/make_random_gguf.py --shape llama2-7b --dtype q4_0 -o /tmp/llama2-7b.q4_0.gguf

Shapes: llama2-7b (4096 hidden, 32 layers, 32 heads, FFN 11008, vocab 32000, untied head) and
llama3.2-1b (2048 hidden, 16 layers, 32 heads / 8 KV heads, FFN 8192, vocab 128256, tied).
dtypes: q4_0, q8_0, f16, and q4_k_m: Q4_K matrices with Q6_K where llama.cpp's Q4_K_M preset puts
it (the token embedding/output, attn_v and ffn_down of the first and last eighth of the layers and
every third one between); norms are f32. Needs numpy and PyPI's gguf.
"""
import argparse
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

SHAPES = {
    "llama2-7b": dict(hidden=4096, layers=32, heads=32, kv_heads=32, ffn=11008, vocab=32000, tied=False,
                      theta=10000.0, ctx=4096),
    "llama3.2-1b": dict(hidden=2048, layers=16, heads=32, kv_heads=8, ffn=8192, vocab=128256, tied=True,
                        theta=500000.0, ctx=131072),
}
TYPES = {"q4_0": (T.Q4_0, 2), "q8_0": (T.Q8_0, 7), "f16": (T.F16, 1), "q4_k_m": (T.Q4_K, 15)}
# Bytes per block of 32 (legacy types) or 256 (K-quants) elements.
BLOCK = {T.Q4_0: (32, 18), T.Q8_0: (32, 34), T.Q4_K: (256, 144), T.Q6_K: (256, 210)}


def more_bits(layer, layers):
    # llama.cpp's use_more_bits(i, n): the first and last eighth, and every third layer between.
    return layer < layers // 8 or layer >= 7 * layers // 8 or (layer - layers // 8) % 3 == 2


def tensor_type(dtype_qtype, name, layers):
    if dtype_qtype != T.Q4_K:
        return dtype_qtype
    if name in ("token_embd.weight", "output.weight"):
        return T.Q6_K
    if name.endswith("attn_v.weight") or name.endswith("ffn_down.weight"):
        return T.Q6_K if more_bits(int(name.split(".")[1]), layers) else T.Q4_K
    return T.Q4_K


def spm_tokenizer(w, vocab):
    # A placeholder SentencePiece vocabulary: llama.cpp needs the byte pieces (it looks up <0x0A>).
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    scores += [0.0] * 256
    types += [6] * 256
    while len(tokens) < vocab:
        tokens.append(f"\u2581t{len(tokens)}")
        scores.append(-float(len(tokens)))
        types.append(1)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)


def matrix(rng, qtype, rows, cols):
    if qtype == T.F16:
        # Random fp16 bit patterns with exponents 10..12 (|w| in [2^-5, 2^-2]), either sign: fast to
        # make, no NaN or inf.
        bits = rng.integers(0, 1 << 16, size=(rows, cols), dtype=np.uint16)
        exp = rng.integers(10, 13, size=(rows, cols), dtype=np.uint16)
        bits = (bits & np.uint16(0x83FF)) | (exp << np.uint16(10))
        return bits.view(np.float16)
    elems, block = BLOCK[qtype]
    nb = cols // elems
    raw = rng.integers(0, 256, size=(rows, nb, block), dtype=np.uint8)
    # Small fixed fp16 super-scales (random bits could be NaN or huge): d (and Q4_K's dmin).
    at, d = {T.Q4_0: (0, 0.008), T.Q8_0: (0, 0.0005), T.Q4_K: (0, 0.002), T.Q6_K: (208, 0.0005)}[qtype]
    scale = np.array([d], dtype=np.float16).view(np.uint8)
    raw[:, :, at] = scale[0]
    raw[:, :, at + 1] = scale[1]
    if qtype == T.Q4_K:
        raw[:, :, 2] = scale[0]
        raw[:, :, 3] = scale[1]
    return raw.reshape(rows, nb * block)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--dtype", choices=sorted(TYPES), required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    s = SHAPES[a.shape]
    qtype, ftype = TYPES[a.dtype]
    rng = np.random.default_rng(a.seed)
    H, F, V = s["hidden"], s["ffn"], s["vocab"]
    hd = H // s["heads"]
    kv = s["kv_heads"] * hd

    w = gguf.GGUFWriter(a.output, "llama")
    w.add_name(f"random {a.shape}")
    w.add_context_length(s["ctx"])
    w.add_embedding_length(H)
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(F)
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(s["theta"])
    w.add_rope_dimension_count(hd)
    w.add_vocab_size(V)
    w.add_file_type(ftype)
    spm_tokenizer(w, V)

    tensors = [("token_embd.weight", (V, H), True)]
    for l in range(s["layers"]):
        p = f"blk.{l}."
        tensors += [(p + "attn_norm.weight", (H,), False), (p + "attn_q.weight", (H, H), True),
                    (p + "attn_k.weight", (kv, H), True), (p + "attn_v.weight", (kv, H), True),
                    (p + "attn_output.weight", (H, H), True), (p + "ffn_norm.weight", (H,), False),
                    (p + "ffn_gate.weight", (F, H), True), (p + "ffn_up.weight", (F, H), True),
                    (p + "ffn_down.weight", (H, F), True)]
    tensors.append(("output_norm.weight", (H,), False))
    if not s["tied"]:
        tensors.append(("output.weight", (V, H), True))

    def nbytes(shape, is_matrix, t):
        if not is_matrix:
            return shape[0] * 4
        rows, cols = shape
        return rows * (cols * 2 if t == T.F16 else cols // BLOCK[t][0] * BLOCK[t][1])

    for name, shape, is_matrix in tensors:
        t = tensor_type(qtype, name, s["layers"])
        if is_matrix and t == T.F16:
            w.add_tensor_info(name, shape, np.dtype(np.float16), nbytes(shape, True, t), raw_dtype=t)
        elif is_matrix:  # quantized: the shape of the raw bytes, which gguf turns into elements
            elems, block = BLOCK[t]
            w.add_tensor_info(name, (shape[0], shape[1] // elems * block), np.dtype(np.uint8), nbytes(shape, True, t),
                              raw_dtype=t)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes(shape, False, T.F32), raw_dtype=T.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    total = 0
    for i, (name, shape, is_matrix) in enumerate(tensors):
        if is_matrix:
            data = matrix(rng, tensor_type(qtype, name, s["layers"]), shape[0], shape[1])
        else:
            data = (1.0 + 0.1 * (rng.random(shape[0], dtype=np.float32) - 0.5)).astype(np.float32)
        w.write_tensor_data(data)
        total += data.nbytes
        if i % 20 == 0:
            print(f"\r{a.output}: {i + 1}/{len(tensors)} tensors, {total / 2**30:.2f} GiB", end="", file=sys.stderr)
    w.close()
    print(f"\r{a.output}: {len(tensors)} tensors, {total / 2**30:.2f} GiB", file=sys.stderr)


if __name__ == "__main__":
    main()
