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
"""
import argparse
import json
import os
import subprocess

import numpy as np

FIXTURES = ["mha_untied", "gqa_tied_llama3"]
TYPES = ["Q4_0", "Q8_0"]
GGML_TYPE_F32 = 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with llama-quantize (and libllama)")
    ap.add_argument("--out", default=os.path.join(root, "tests/fixtures/gguf/llamacpp"))
    a = ap.parse_args()
    os.environ.setdefault("LLAMA_CPP_LIB_PATH", a.bin)
    import llama_cpp
    from llama_cpp import Llama

    os.makedirs(a.out, exist_ok=True)
    for fixture in FIXTURES:
        src = os.path.join(root, "tests/fixtures/gguf", f"{fixture}.f32.gguf")
        tokens = json.load(open(os.path.join(root, "tests/fixtures/llama", fixture, "prompt.json")))["tokens"]
        for qtype in TYPES:
            dst = os.path.join(a.out, f"{fixture}.{qtype.lower()}.gguf")
            subprocess.run([os.path.join(a.bin, "llama-quantize"), "--pure", src, dst, qtype], check=True,
                           capture_output=True)
            llm = Llama(model_path=dst, n_ctx=64, n_batch=64, logits_all=True, n_threads=1, verbose=False,
                        type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32)
            llm.eval(tokens)
            logits = np.array(llm.scores[: len(tokens)], dtype=np.float32)
            np.save(os.path.join(a.out, f"{fixture}.{qtype.lower()}.logits.npy"), logits)
            del llm
            print(f"{dst}: {os.path.getsize(dst)} bytes, logits {logits.shape}")
    commit = subprocess.run(["git", "-C", os.path.join(a.bin, "..", ".."), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    with open(os.path.join(a.out, "versions.json"), "w") as f:
        json.dump({"llama_cpp_python": llama_cpp.__version__,
                   "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(),
                   "llama_cpp_source": commit or "vendor/llama.cpp of the llama-cpp-python sdist",
                   "quantize": "llama-quantize --pure", "kv_cache": "f32", "threads": 1,
                   "prompts": "tests/fixtures/llama/<fixture>/prompt.json"}, f, indent=1)


if __name__ == "__main__":
    main()
