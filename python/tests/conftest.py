"""Shared fixtures: the repository's default model and BERT fixtures, found relative to this file."""

import ast
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest

import acorn

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "models" / "acorn-chat-mini.acorn"
REFERENCE_GREEDY = REPO / "models" / "acorn-chat-mini" / "hf" / "reference_greedy.json"
BERT_FIXTURES = REPO / "tests" / "fixtures" / "bert"


@pytest.fixture(scope="session")
def model():
    with acorn.Model(DEFAULT_MODEL, threads=2) as m:
        yield m


@pytest.fixture(scope="session")
def reference_greedy():
    """Prompts, ids and greedy replies that transformers produced for the default model."""
    with open(REFERENCE_GREEDY) as f:
        return json.load(f)


def read_npy(path: Path) -> Tuple[Tuple[int, ...], List[float]]:
    """A little-endian float32 .npy file (what the fixtures hold): its shape and values, row-major."""
    data = path.read_bytes()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    header_len_size = 2 if major == 1 else 4
    (header_len,) = struct.unpack_from("<H" if major == 1 else "<I", data, 8)
    start = 8 + header_len_size
    header = ast.literal_eval(data[start : start + header_len].decode("latin1"))
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    shape = tuple(header["shape"])
    count = 1
    for d in shape:
        count *= d
    values = list(struct.unpack_from("<%df" % count, data, start + header_len))
    return shape, values


def find_acorn_convert():
    """acorn-convert: $ACORN_CONVERT, then PATH, then next to the loaded libacorn (a build tree or an
    install prefix)."""
    env = os.environ.get("ACORN_CONVERT")
    if env:
        return env
    found = shutil.which("acorn-convert")
    if found:
        return found
    # The library's directory or one above it: build/X/libacorn.so or build/X/runtime/libacorn.so
    # with build/X/tools/acorn-convert/acorn-convert, or PREFIX/lib with PREFIX/bin.
    lib_dir = Path(acorn.library_path()).resolve().parent
    for base in (lib_dir, lib_dir.parent, lib_dir.parent.parent):
        for candidate in (base / "tools" / "acorn-convert" / "acorn-convert", base / "bin" / "acorn-convert"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def bert_tokenizer_json(vocab_size: int, cls_id: int) -> dict:
    """A WordPiece tokenizer for a random-weight fixture: token i is "w<i>", and the post-processor
    puts id `cls_id` first and last, as the fixture's inputs.json does; so the text
    "w84 w44" encodes to [cls_id, 84, 44, cls_id]."""
    vocab = {"w%d" % i: i for i in range(vocab_size)}
    del vocab["w%d" % cls_id]
    vocab["[CLS]"] = cls_id
    del vocab["w0"]
    vocab["[UNK]"] = 0
    added = [
        {"id": i, "content": t, "special": True, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False}
        for t, i in (("[UNK]", 0), ("[CLS]", cls_id))
    ]
    return {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", cls_id], "sep": ["[CLS]", cls_id]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


@pytest.fixture(scope="session")
def bert_h64(tmp_path_factory):
    """tests/fixtures/bert/bert_h64 converted (f32) with a tokenizer that maps text to its input ids:
    (bundle path, text of sequence 0, ids of sequence 0, reference embedding of sequence 0)."""
    convert = find_acorn_convert()
    if convert is None:
        pytest.skip("acorn-convert not found: set ACORN_CONVERT=/path/to/acorn-convert to run the BERT tests")
    src = BERT_FIXTURES / "bert_h64"
    work = tmp_path_factory.mktemp("bert_h64")
    checkpoint = work / "hf"
    checkpoint.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(src / name, checkpoint / name)
    config = json.loads((src / "config.json").read_text())
    ids = json.loads((src / "inputs.json").read_text())["sequences"][0]["ids"]
    assert ids[0] == ids[-1], "the tokenizer below assumes one id opens and closes the sequence"
    (checkpoint / "tokenizer.json").write_text(json.dumps(bert_tokenizer_json(config["vocab_size"], ids[0])))
    bundle = work / "bert_h64.acorn"
    cmd = [convert, str(checkpoint), "-o", str(bundle), "--quiet", "--dtype", "f32", "--max-tokens", "32"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, "%s failed:\n%s%s" % (" ".join(cmd), result.stdout, result.stderr)
    shape, values = read_npy(src / "embeddings.npy")
    hidden = shape[1]
    text = " ".join("w%d" % i for i in ids[1:-1])
    return bundle, text, ids, values[:hidden]
