#!/usr/bin/env python3
"""Writes tests/fixtures/gguf/k_quants.bin: rows of floats, their Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
IQ4_NL and IQ4_XS blocks as llama.cpp's own quantizer makes them (ggml_quantize_chunk without an
importance matrix: quantize_row_q*_K_ref for the K-quants, as llama-quantize does without
--imatrix), and the floats ggml's dequantize_row_* gives for those blocks. ggml is called through
ctypes in libggml-base, built from the llama-cpp-python sdist by scripts/llamacpp/build.sh.
The script also checks that PyPI gguf's numpy dequantizers (gguf.quants, 0.19.0) agree with ggml
on every float, so the fixture stands for both.

The kernel tests (tests/kernels/k_quants_test.cpp) check acorn's dequantizers bit for bit and its
quantizers byte for byte against it.

Layout (little-endian, as legacy_quants.bin): b"AQF1", u32 rows, u32 cols, f32 input[rows * cols];
then per type: u32 ggml type, u32 byte count, the blocks, f32 dequantized[rows * cols].

    bin=$(scripts/llamacpp/build.sh | tail -n1)
    python3 scripts/gguf/make_kquant_fixtures.py --bin $bin
"""
import argparse
import ctypes
import importlib.metadata
import os
import struct

import numpy as np

# ggml type numbers (ggml.h) and their block geometry.
TYPES = {"Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176),
         "Q6_K": (14, 256, 210), "IQ4_NL": (20, 32, 18), "IQ4_XS": (23, 256, 136)}


class TypeTraits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64), ("blck_size_interleave", ctypes.c_int64),
                ("type_size", ctypes.c_size_t), ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


def rows():
    rng = np.random.default_rng(1414)
    cols = 512  # two super-blocks per row
    sub = np.arange(cols) // 32
    half = np.arange(cols) < 256  # first super-block / second super-block
    out = [
        rng.standard_normal(cols),                                    # plain
        rng.standard_normal(cols) * 1e-3 + 0.5,                       # offset, narrow range (minimums matter)
        np.where(half, np.where(sub % 3 == 0, 0.0, rng.standard_normal(cols)), 0.75),  # zero sub-blocks; constant
        np.where(half, rng.uniform(-1, 1, cols) * np.where(np.arange(cols) % 7 == 0, 40.0, 1.0),  # outliers
                 -np.abs(rng.standard_normal(cols)) * 100),                                     # all negative
        np.where(half, rng.standard_normal(cols) * 2.0 ** (2 * (sub % 8) - 8),  # sub-block scales 2^-8..2^6
                 rng.standard_normal(cols) * 1e-5),                             # tiny: fp16 scales near the bottom
    ]
    return np.stack(out).astype(np.float32), cols


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with libggml-base.so (scripts/llamacpp/build.sh)")
    ap.add_argument("--out", default=os.path.join(root, "tests/fixtures/gguf/k_quants.bin"))
    args = ap.parse_args()
    ggml = ctypes.CDLL(os.path.join(args.bin, "libggml-base.so"))
    ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
    ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    ggml.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
    ggml.ggml_get_type_traits.argtypes = [ctypes.c_int]
    ggml.ggml_quantize_requires_imatrix.restype = ctypes.c_bool
    to_float_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)

    x, cols = rows()
    n_rows = x.shape[0]
    blob = b"AQF1" + struct.pack("<II", n_rows, cols) + x.tobytes()
    for name, (t, block_elems, block_bytes) in TYPES.items():
        traits = ggml.ggml_get_type_traits(t).contents
        assert traits.type_name.decode().lower() == name.lower(), traits.type_name
        assert (traits.blck_size, traits.type_size) == (block_elems, block_bytes), name
        assert not ggml.ggml_quantize_requires_imatrix(t), name
        row_bytes = cols // block_elems * block_bytes
        q = np.zeros(n_rows * row_bytes, dtype=np.uint8)
        xc = np.ascontiguousarray(x)
        written = ggml.ggml_quantize_chunk(t, xc.ctypes.data, q.ctypes.data, 0, n_rows, cols, None)
        assert written == q.size, (name, written, q.size)
        back = np.zeros(n_rows * cols, dtype=np.float32)
        to_float_t(traits.to_float)(q.ctypes.data, back.ctypes.data, n_rows * cols)
        try:  # gguf-py's numpy port must agree with ggml, float for float
            import gguf
            py = gguf.quants.dequantize(q.reshape(n_rows, row_bytes), t).astype(np.float32).reshape(-1)
            mismatch = np.flatnonzero(py.view(np.uint32) != back.view(np.uint32))
            print(f"{name}: gguf-py {importlib.metadata.version('gguf')} "
                  f"{'agrees with ggml' if mismatch.size == 0 else f'differs at {mismatch.size} floats'}")
        except ImportError:
            print(f"{name}: gguf-py not installed, ggml only")
        blob += struct.pack("<II", t, q.size) + q.tobytes() + back.tobytes()
    with open(args.out, "wb") as f:
        f.write(blob)
    print(f"{args.out}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
