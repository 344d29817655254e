"""Generation and chat on the default model: greedy determinism, streaming, early stop, stats."""

import gc
import threading
import weakref

import pytest

import acorn

PROMPT = "The capital of France is"
# A chat prompt written out by hand (the model is a chat model: its replies to plain text are short).
RUN_PROMPT = "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
# `acorn-run --model models/acorn-chat-mini.acorn --prompt RUN_PROMPT --greedy 24`, second line:
# the C++ interpreter's own greedy loop (argmax of the logits, no sampler) on the same prompt.
RUN_GREEDY_24 = "I am Acorn, a small chat model that runs on your own device with acorn. I know a little about numbers,"
# `acorn-minimal models/acorn-chat-mini.acorn "Who are you?"`: the C example's greedy chat reply.
MINIMAL_WHO_ARE_YOU = (
    "I am Acorn, a small chat model that runs on your own device with acorn. "
    "I know a little about numbers, days, colours, animals, capitals, units and spelling."
)


def test_streamed_equals_blocking(model):
    gen = model.generate(PROMPT, max_tokens=24)
    assert isinstance(gen, acorn.Generation)
    pieces = list(gen)
    assert len(pieces) >= 1 and all(isinstance(p, str) and p for p in pieces)
    done = model.generate(PROMPT, max_tokens=24, stream=False)
    assert isinstance(done, acorn.Completion)
    assert "".join(pieces) == done.text == gen.text == str(done)
    assert done.text.strip()
    assert gen.stats.generated_tokens == done.stats.generated_tokens
    assert gen.stats.stop_reason == done.stats.stop_reason


def test_greedy_matches_acorn_run(model):
    done = model.generate(RUN_PROMPT, max_tokens=24, stream=False)
    assert done.text == RUN_GREEDY_24


def test_stats(model):
    done = model.generate(RUN_PROMPT, max_tokens=8, stream=False)
    s = done.stats
    assert s.prompt_tokens == len(model.tokenize(RUN_PROMPT))
    assert s.generated_tokens == 8
    assert s.stop_reason == acorn.StopReason.MAX_TOKENS
    assert s.decode_ms > 0 and s.tokens_per_second > 0


def test_sampling_is_seeded(model):
    opts = dict(max_tokens=16, temperature=2.0, top_k=0, top_p=1.0, min_p=0.0)
    a = model.generate(RUN_PROMPT, seed=7, stream=False, **opts).text
    b = model.generate(RUN_PROMPT, seed=7, stream=False, **opts).text
    assert a == b
    others = {model.generate(RUN_PROMPT, seed=s, stream=False, **opts).text for s in range(1, 5)}
    assert len(others | {a}) > 1, "different seeds never changed the text"


def acorn_threads():
    return [t for t in threading.enumerate() if t.name == "acorn-generate"]


def test_breaking_out_stops_generation(model):
    full = len(model.tokenize(MINIMAL_WHO_ARE_YOU, add_special_tokens=False))  # the whole reply
    session = model.session()
    gen = session.generate(RUN_PROMPT, max_tokens=200)
    first = next(gen)
    assert first
    gen.close()
    assert gen.stats.stop_reason == acorn.StopReason.CANCELLED
    # The worker runs only a few pieces ahead of the consumer.
    assert gen.stats.generated_tokens <= 8 < full
    assert session.position < len(model.tokenize(RUN_PROMPT)) + 8
    with pytest.raises(StopIteration):
        next(gen)
    assert not acorn_threads()
    # The session is usable again at once.
    session.reset()
    assert session.position == 0
    again = session.generate(RUN_PROMPT, max_tokens=24, stream=False)
    assert again.text == RUN_GREEDY_24


def test_dropping_the_iterator_stops_generation(model):
    session = model.session()
    for _piece in session.generate(RUN_PROMPT, max_tokens=200):
        break
    # The `for` loop held the only reference: the Generation is collected, which stops the worker.
    assert not acorn_threads()
    assert session.position < len(model.tokenize(RUN_PROMPT)) + 8
    gen = model.generate(RUN_PROMPT, max_tokens=200)
    next(gen)
    ref = weakref.ref(gen)
    del gen
    gc.collect()
    assert ref() is None
    assert not acorn_threads()


def test_a_new_generation_stops_the_running_one(model):
    session = model.session()
    first = session.generate(RUN_PROMPT, max_tokens=200)
    next(first)
    second = session.generate(" And then", max_tokens=4, stream=False)
    assert second.stats.generated_tokens <= 4
    assert list(first) == []  # closed by the second call
    assert first.stats.stop_reason == acorn.StopReason.CANCELLED
    session.close()


def test_session_continues_the_conversation(model):
    with model.session() as s:
        s.generate(RUN_PROMPT, max_tokens=4, stream=False)
        pos = s.position
        # The last sampled token has not run through the model yet.
        assert pos == len(model.tokenize(RUN_PROMPT)) + 4 - 1
        s.generate(" more", max_tokens=2, add_special_tokens=False, stream=False)
        assert s.position > pos
    with pytest.raises(acorn.AcornError, match="closed"):
        s.generate("x")


def test_generation_errors_surface_in_the_iterator(model):
    with pytest.raises(acorn.AcornError) as info:
        list(model.generate("", add_special_tokens=False, max_tokens=4))
    assert info.value.code == acorn.Status.INVALID_ARGUMENT
    with pytest.raises(ValueError):
        model.generate(PROMPT, max_tokens=-1)
    with pytest.raises(TypeError):
        model.generate(PROMPT, beams=4)


def test_chat_matches_transformers_greedy(model, reference_greedy):
    cases = [c for c in reference_greedy["cases"] if len(c["messages"]) == 1 and c["messages"][0]["role"] == "user"]
    assert cases
    for case in cases[:3]:
        with model.chat() as chat:
            reply = chat.send(case["messages"][0]["content"], stream=False)
            assert reply.text == case["generated_text"]
            assert reply.stats.stop_reason == acorn.StopReason.TOKEN
            assert len(chat) == 2


def test_chat_matches_the_c_example(model):
    with model.chat(max_tokens=128) as chat:
        pieces = list(chat.send("Who are you?"))
        assert len(pieces) > 10
        assert "".join(pieces) == MINIMAL_WHO_ARE_YOU


def test_chat_streams_and_keeps_the_conversation(model, reference_greedy):
    first = reference_greedy["cases"][0]
    chat = model.chat(system="You are a helpful assistant.", max_tokens=48)
    assert len(chat) == 1
    gen = chat.send("Hello!")
    text = "".join(gen)
    assert text.strip()
    assert gen.stats.stop_reason in (acorn.StopReason.TOKEN, acorn.StopReason.MAX_TOKENS)
    assert len(chat) == 3
    chat.send("What is 7 plus 8?", stream=False)
    assert len(chat) == 5
    chat.reset()
    assert len(chat) == 1
    # Without the system prompt: the C example's (and transformers') greedy reply.
    with model.chat() as plain:
        assert "".join(plain.send(first["messages"][0]["content"])) == first["generated_text"]


def test_chat_restored_from_messages_continues_the_same(model):
    with model.chat(max_tokens=32) as live:
        first = live.send("What is 2 plus 3?", stream=False).text
        second = live.send("And 4 plus 4?", stream=False).text
    history = [{"role": "user", "content": "What is 2 plus 3?"}, {"role": "assistant", "content": first}]
    with model.chat(messages=history, max_tokens=32) as restored:
        assert len(restored) == 2
        assert restored.send("And 4 plus 4?", stream=False).text == second
        with pytest.raises(acorn.AcornError) as e:
            restored.add("system", "x")
        assert e.value.code == acorn.Status.INVALID_ARGUMENT
        assert len(restored) == 4


def test_chat_stop_early(model):
    with model.chat() as chat:
        for _ in chat.send("Who are you?"):
            break
        assert len(chat) == 2  # the cut reply stays in the conversation
        assert chat.send("Hello!", stream=False).text


def test_sessions_on_two_threads(model):
    expected = model.generate(RUN_PROMPT, max_tokens=12, stream=False).text
    results = []

    def work():
        results.append("".join(model.generate(RUN_PROMPT, max_tokens=12)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected, expected]
