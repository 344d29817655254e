#!/usr/bin/env python3
"""Writes tests/fixtures/gguf/legacy_quants.bin: rows of floats, their Q4_1 / Q5_0 / Q5_1 blocks as
PyPI's `gguf` package quantizes them (gguf.quants, numpy ports of ggml's quantize_row_*_ref), and the
floats gguf.quants dequantizes those blocks to (ggml's dequantize_row_*). The kernel tests check
acorn's reference dequantizers and quantizers against it, byte for byte and bit for bit.

Layout (little-endian): b"AQF1", u32 rows, u32 cols, f32 input[rows * cols]; then per type:
u32 ggml type, u32 byte count, the blocks, f32 dequantized[rows * cols].

Needs numpy and gguf (pip install gguf; made with gguf 0.19.0). Usage:
    python3 scripts/gguf/make_quant_fixtures.py [--out tests/fixtures/gguf/legacy_quants.bin]
"""
import argparse
import os
import struct

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

TYPES = [T.Q4_1, T.Q5_0, T.Q5_1]


def rows():
    rng = np.random.default_rng(14)
    cols = 64
    out = [
        rng.standard_normal(cols),                        # plain
        rng.standard_normal(cols) * 1e-3 + 0.5,           # offset, narrow range (minimum matters)
        np.concatenate([np.full(32, 0.25), np.full(32, -3.0)]),  # a constant block (scale 0), a negative one
        rng.uniform(-1, 1, cols) * np.where(np.arange(cols) % 7 == 0, 40.0, 1.0),  # outliers
        np.round(rng.uniform(-8, 8, cols)) / 2,           # values on half-steps: rounding ties
        -np.abs(rng.standard_normal(cols)) * 100,         # all negative, largest magnitude negative
    ]
    return np.stack(out).astype(np.float32), cols


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(root, "tests/fixtures/gguf/legacy_quants.bin"))
    args = ap.parse_args()
    x, cols = rows()
    blob = b"AQF1" + struct.pack("<II", x.shape[0], cols) + x.tobytes()
    for t in TYPES:
        q = gguf.quants.quantize(x, t)
        back = gguf.quants.dequantize(q, t).astype(np.float32)
        assert back.shape == x.shape
        raw = q.tobytes()
        blob += struct.pack("<II", int(t), len(raw)) + raw + back.tobytes()
    with open(args.out, "wb") as f:
        f.write(blob)
    print(f"{args.out}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
