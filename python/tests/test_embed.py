"""embed() on an encoder (BERT) bundle against PyTorch's reference embedding (tests/fixtures/bert)."""

import math

import pytest

import acorn


def rel_max_diff(a, b):
    # The measure tests/bert uses: max |a - b| / max |b|.
    assert len(a) == len(b)
    return max(abs(x - y) for x, y in zip(a, b)) / max(abs(y) for y in b)


def test_embed_matches_transformers(bert_h64):
    bundle, text, ids, reference = bert_h64
    with acorn.Model(bundle) as model:
        assert model.tokenize(text) == ids
        emb = model.embed(text)
        assert isinstance(emb, list) and len(emb) == len(reference)
        assert rel_max_diff(emb, reference) <= 1e-4  # tests/bert's bound for f32 weights
        assert math.isclose(math.fsum(x * x for x in emb), 1.0, rel_tol=1e-5)  # mean pooling + L2
        assert model.embed(text) == emb  # the cached size path gives the same
        other = model.embed("w5 w6 w7")
        assert rel_max_diff(other, reference) > 1e-2


def test_embed_from_memory(bert_h64):
    bundle, text, _ids, reference = bert_h64
    with acorn.Model(bundle.read_bytes()) as model:
        assert rel_max_diff(model.embed(text), reference) <= 1e-4


def test_generate_on_an_encoder_fails(bert_h64):
    bundle, text, _ids, _reference = bert_h64
    with acorn.Model(bundle) as model:
        with pytest.raises(acorn.AcornError):
            model.generate(text, max_tokens=2, stream=False)
