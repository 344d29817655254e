"""The binding on the default model (models/acorn-chat-mini.acorn): loading, errors, tokenizer."""

import gc
import mmap

import pytest

import acorn
from conftest import DEFAULT_MODEL


def test_versions():
    assert acorn.__version__ == "0.1.0"
    # Within 0.x the minor version is the ABI: the library must be this binding's 0.1 or newer.
    major, minor, _patch = (int(x) for x in acorn.library_version().split("."))
    assert (major, minor) >= (0, 1)


def test_bad_path_raises_acorn_error_naming_the_file(tmp_path):
    missing = tmp_path / "no-such-model.acorn"
    with pytest.raises(acorn.AcornError) as info:
        acorn.Model(missing)
    assert info.value.code == acorn.Status.NOT_FOUND
    assert str(missing) in info.value.message
    assert "(not found)" in str(info.value)


def test_garbage_bytes_raise_malformed():
    with pytest.raises(acorn.AcornError) as info:
        acorn.Model(b"this is not a bundle" * 10)
    assert info.value.code == acorn.Status.MALFORMED
    assert info.value.message


def test_bad_backend_and_load_mode():
    with pytest.raises(acorn.AcornError) as info:
        acorn.Model(DEFAULT_MODEL, backends="tpu")
    assert info.value.code == acorn.Status.INVALID_ARGUMENT
    assert "tpu" in info.value.message
    with pytest.raises(ValueError):
        acorn.Model(DEFAULT_MODEL, load_mode="stream")
    with pytest.raises(TypeError):
        acorn.Model(12345)


def test_properties(model):
    assert model.context_length == 512
    assert model.vocab_size == 4096


def test_tokenize_matches_transformers_prompt_ids(model, reference_greedy):
    # The ids that transformers' tokenizer gave for each rendered chat prompt.
    for case in reference_greedy["cases"]:
        ids = model.tokenize(case["prompt_text"], add_special_tokens=False)
        assert ids == case["prompt_ids"], case["prompt_text"]
        assert model.detokenize(ids) == case["prompt_text"]
    # The replies decode to transformers' text (the final id is the end-of-turn token).
    for case in reference_greedy["cases"]:
        assert model.detokenize(case["generated_ids"], skip_special_tokens=True) == case["generated_text"]


def test_tokenize_round_trip_and_buffers(model):
    for text in ["", "Hello world", "naïve café — 日本語 🙂", "x" * 5000, "a\nb\tc  d"]:
        ids = model.tokenize(text, add_special_tokens=False)
        assert model.detokenize(ids) == text
    assert model.tokenize(b"Hello world") == model.tokenize("Hello world")
    # Many short tokens for few bytes, and a long decode: the retry paths of both calls.
    emoji = "🙂" * 300
    assert model.detokenize(model.tokenize(emoji, add_special_tokens=False)) == emoji


def test_detokenize_rejects_ids_outside_the_vocabulary(model):
    with pytest.raises(acorn.AcornError) as info:
        model.detokenize([1, 99999])
    assert info.value.code == acorn.Status.INVALID_ARGUMENT
    assert "99999" in info.value.message


def test_load_from_bytes_bytearray_and_mmap(reference_greedy):
    data = DEFAULT_MODEL.read_bytes()
    case = reference_greedy["cases"][1]
    with acorn.Model(data, threads=2) as m:
        assert m.tokenize(case["prompt_text"], add_special_tokens=False) == case["prompt_ids"]
    buf = bytearray(data)
    m = acorn.Model(buf, threads=2)
    with pytest.raises(BufferError):
        buf.extend(b"x")  # the model holds the buffer: it cannot move under it
    s = m.session()
    m.close()  # the session keeps the model (and its bytes) alive
    del m
    gc.collect()
    assert "".join(s.generate("What is", max_tokens=4)).strip()
    s.close()
    del s
    gc.collect()
    buf.extend(b"x")  # released with the last user
    with open(DEFAULT_MODEL, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        with acorn.Model(memoryview(mm), threads=2) as m:
            assert m.vocab_size == 4096


def test_closed_model_raises():
    m = acorn.Model(DEFAULT_MODEL)
    m.close()
    m.close()  # idempotent
    assert m.closed
    with pytest.raises(acorn.AcornError, match="closed"):
        m.tokenize("hi")


def test_embed_on_a_decoder_is_unsupported(model):
    with pytest.raises(acorn.AcornError) as info:
        model.embed("hello")
    assert info.value.code == acorn.Status.UNSUPPORTED


# `acorn-tokenize models/acorn-chat-mini/hf/tokenizer.json --text TEXT`: the C++ tokenizer on the
# checkpoint's tokenizer.json, which the bundle's tokenizer must reproduce.
ACORN_TOKENIZE = {
    "naïve café — 日本語 🙂 Hello world, what is 7 plus 8?": [
        1413, 130, 110, 370, 300, 72, 130, 105, 223, 161, 225, 245, 223, 165, 248, 101, 165, 253, 108,
        167, 106, 255, 223, 175, 256, 250, 227, 2778, 1697, 14, 469, 282, 466, 432, 481, 33,
    ],
    "Once upon a time": [49, 80, 1023, 844, 308, 270, 2175],
}


@pytest.mark.parametrize("text", sorted(ACORN_TOKENIZE))
def test_tokenize_matches_acorn_tokenize(model, text):
    assert model.tokenize(text) == ACORN_TOKENIZE[text]
    assert model.detokenize(ACORN_TOKENIZE[text]) == text
