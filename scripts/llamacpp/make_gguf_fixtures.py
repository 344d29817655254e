#!/usr/bin/env python3
"""Makes tests/fixtures/gguf/llamacpp: GGUF files quantized by llama.cpp's own quantizer, and
llama.cpp's own logits on the fixture prompts, for tests/gguf/gguf_llamacpp_test.cpp.

For each f32 GGUF fixture (tests/fixtures/gguf/*.f32.gguf, written by scripts/gguf/make_gguf_fixtures.py
from the transformers fixtures), `llama-quantize --pure` makes a Q4_0 and a Q8_0 file (every matrix in
that type, as acorn stores one dtype per bundle); llama-cpp-python (the PyPI package, loading the
libllama built by scripts/llamacpp/build.sh) then evaluates the fixture prompt with logits for every
position, on one thread, with the KV cache in f32 so that llama.cpp's cache rounding is not measured.

    bin=$(scripts/llamacpp/build.sh | tail -n1)
    pip install scikit-build-core && CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" \\
        pip install --no-deps --no-build-isolation llama-cpp-python   # the Python side only
    LLAMA_CPP_LIB_PATH=$bin python3 scripts/llamacpp/make_gguf_fixtures.py --bin $bin

The K-quant set: the fixtures above are 64 wide, and the K-quants need rows of 256, so a second
model, kq_wide (random weights, written here with PyPI gguf: hidden 256, one layer, 2 heads of 32
with 1 KV head, ffn 64, the tokenizer and vocabulary of gqa_tied_llama3, tied embeddings), is
quantized by `llama-quantize` with llama.cpp's presets as users run them (no --pure): Q2_K, Q3_K_M,
Q4_K_M, Q5_K_M, Q6_K, IQ4_NL, IQ4_XS, the default Q4_0 mix (embeddings/output in Q6_K) and the
legacy Q4_1, Q5_0 and Q5_1 mixes (likewise).
Matrices whose rows are not 256 wide (attn_output, ffn_down: rows of 64) get llama.cpp's own
fallback types, so the files mix K-quants with IQ4_NL and the legacy types exactly as llama.cpp
chooses. Its prompt is gqa_tied_llama3's. `--sets kquants` makes only this set, with
kq_deep.types.json: the types llama-quantize gives each matrix of kq_deep (8 layers, untied
output, 2 query heads per KV head) under Q2_K, Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M and Q6_K, for
acorn-convert's --dtype presets. `--presets Q4_1,Q5_0` remakes only those kq_wide files.
"""
import argparse
import json
import os
import subprocess

import numpy as np

FIXTURES = ["mha_untied", "gqa_tied_llama3"]
TYPES = ["Q4_0", "Q8_0"]
GGML_TYPE_F32 = 0

# The K-quant set: llama-quantize presets on kq_wide; the prompt is gqa_tied_llama3's.
KQ_MODEL = "kq_wide"
KQ_PROMPT = "gqa_tied_llama3"
KQ_PRESETS = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "Q4_0", "Q4_1", "Q5_0", "Q5_1"]


# The preset mixes over layers: llama-quantize's type choices (only the types, not the files) for
# kq_deep, an 8-layer untied variant of kq_wide, for acorn-convert's --dtype presets to match.
KQ_DEEP_PRESETS = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"]


def write_kq_wide(root, path, layers=1, tied=True):
    """The f32 source of the K-quant set: random weights (fixed seed) scaled 1/sqrt(fan_in), so
    that logits spread widely (no near-ties at the top-10 boundary), and gqa_tied_llama3's tokenizer."""
    import gguf
    src = gguf.GGUFReader(os.path.join(root, "tests/fixtures/gguf/gqa_tied_llama3.f32.gguf"))
    field = lambda k: src.fields[k].contents()
    hidden, heads, kv_heads, head_dim, ffn, vocab = 256, 2, 1, 32, 64, int(field("llama.vocab_size"))
    rng = np.random.default_rng(256)
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(KQ_MODEL)
    w.add_context_length(256)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_file_type(0)
    w.add_tokenizer_model(field("tokenizer.ggml.model"))
    w.add_tokenizer_pre(field("tokenizer.ggml.pre"))
    w.add_token_list(field("tokenizer.ggml.tokens"))
    w.add_token_types(field("tokenizer.ggml.token_type"))
    w.add_token_merges(field("tokenizer.ggml.merges"))
    w.add_bos_token_id(field("tokenizer.ggml.bos_token_id"))
    w.add_eos_token_id(field("tokenizer.ggml.eos_token_id"))
    w.add_eot_token_id(field("tokenizer.ggml.eot_token_id"))
    w.add_add_bos_token(field("tokenizer.ggml.add_bos_token"))
    w.add_chat_template(field("tokenizer.chat_template"))

    def matrix(name, rows, cols, std=None):  # [rows, cols] = ne [cols, rows]
        std = 1.0 / np.sqrt(cols) if std is None else std
        w.add_tensor(name, (rng.standard_normal((rows, cols)) * std).astype(np.float32))

    def norm(name):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(hidden)).astype(np.float32))

    matrix("token_embd.weight", vocab, hidden, std=1.0)
    for i in range(layers):
        norm(f"blk.{i}.attn_norm.weight")
        matrix(f"blk.{i}.attn_q.weight", heads * head_dim, hidden)
        matrix(f"blk.{i}.attn_k.weight", kv_heads * head_dim, hidden)
        matrix(f"blk.{i}.attn_v.weight", kv_heads * head_dim, hidden)
        matrix(f"blk.{i}.attn_output.weight", hidden, heads * head_dim)
        norm(f"blk.{i}.ffn_norm.weight")
        matrix(f"blk.{i}.ffn_gate.weight", ffn, hidden)
        matrix(f"blk.{i}.ffn_up.weight", ffn, hidden)
        matrix(f"blk.{i}.ffn_down.weight", hidden, ffn)
    norm("output_norm.weight")
    if not tied:
        matrix("output.weight", vocab, hidden)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def quantize_and_eval(a, Llama, src, dst_base, qtype, tokens, extra_args):
    dst = dst_base + ".gguf"
    subprocess.run([os.path.join(a.bin, "llama-quantize")] + extra_args + [src, dst, qtype], check=True,
                   capture_output=True)
    llm = Llama(model_path=dst, n_ctx=64, n_batch=64, logits_all=True, n_threads=1, verbose=False,
                type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32)
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens)], dtype=np.float32)
    np.save(dst_base + ".logits.npy", logits)
    del llm
    print(f"{dst}: {os.path.getsize(dst)} bytes, logits {logits.shape}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with llama-quantize (and libllama)")
    ap.add_argument("--out", default=os.path.join(root, "tests/fixtures/gguf/llamacpp"))
    ap.add_argument("--sets", default="legacy,kquants", help="legacy (--pure Q4_0/Q8_0), kquants, or both")
    ap.add_argument("--presets", default=",".join(KQ_PRESETS),
                    help="the kq_wide presets to make (default all); kq_deep.types.json only with all of them")
    a = ap.parse_args()
    presets = a.presets.split(",")
    sets = a.sets.split(",")
    os.environ.setdefault("LLAMA_CPP_LIB_PATH", a.bin)
    import llama_cpp
    from llama_cpp import Llama

    os.makedirs(a.out, exist_ok=True)
    prompt = lambda fixture: json.load(open(os.path.join(root, "tests/fixtures/llama", fixture, "prompt.json")))["tokens"]
    if "legacy" in sets:
        for fixture in FIXTURES:
            src = os.path.join(root, "tests/fixtures/gguf", f"{fixture}.f32.gguf")
            for qtype in TYPES:
                quantize_and_eval(a, Llama, src, os.path.join(a.out, f"{fixture}.{qtype.lower()}"), qtype,
                                  prompt(fixture), ["--pure"])
    if "kquants" in sets:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, f"{KQ_MODEL}.f32.gguf")  # intermediate, not committed
            write_kq_wide(root, src)
            for preset in presets:
                quantize_and_eval(a, Llama, src, os.path.join(a.out, f"{KQ_MODEL}.{preset.lower()}"), preset,
                                  prompt(KQ_PROMPT), [])
            import gguf
            if sorted(presets) != sorted(KQ_PRESETS):
                return
            deep = os.path.join(tmp, "kq_deep.f32.gguf")
            write_kq_wide(root, deep, layers=8, tied=False)
            types = {}
            for preset in KQ_DEEP_PRESETS:
                dst = os.path.join(tmp, f"kq_deep.{preset}.gguf")
                subprocess.run([os.path.join(a.bin, "llama-quantize"), deep, dst, preset], check=True,
                               capture_output=True)
                types[preset.lower()] = {t.name: [t.tensor_type.name, int(t.shape[0])]
                                         for t in gguf.GGUFReader(dst).tensors if len(t.shape) > 1}
            with open(os.path.join(a.out, "kq_deep.types.json"), "w") as f:
                json.dump({"layers": 8, "gqa": 2, "tied": False, "types": types}, f, indent=1, sort_keys=True)
    commit = subprocess.run(["git", "-C", os.path.join(a.bin, "..", ".."), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    with open(os.path.join(a.out, "versions.json"), "w") as f:
        json.dump({"llama_cpp_python": llama_cpp.__version__,
                   "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(),
                   "llama_cpp_source": commit or "vendor/llama.cpp of the llama-cpp-python sdist",
                   "quantize": "llama-quantize --pure (mha_untied, gqa_tied_llama3); llama-quantize with the "
                               "preset's own mix (kq_wide)", "kv_cache": "f32", "threads": 1,
                   "prompts": "tests/fixtures/llama/<fixture>/prompt.json (kq_wide: gqa_tied_llama3's)"}, f, indent=1)


if __name__ == "__main__":
    main()
