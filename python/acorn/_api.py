"""Model, Session, Chat and streaming Generation: the Pythonic layer over the C API.

Streaming: acorn_generate and acorn_chat_reply are blocking calls that hand each piece of text to a
callback. A generator cannot suspend a C call, so a streaming Generation runs that call on a worker
thread and hands the pieces over a short queue (the worker runs at most _LOOKAHEAD pieces ahead of
the consumer); closing the iterator (or dropping it) makes the callback return nonzero, which stops
the C call at the next token. ``stream=False`` runs the call on the
caller's thread instead and returns a Completion.
"""

import array
import atexit
import codecs
import collections
import ctypes
import dataclasses
import os
import threading
import weakref
from typing import Callable, List, Optional, Sequence, Union

from . import _library as _L
from ._library import AcornError, Status, StopReason

__all__ = ["Model", "Session", "Chat", "Generation", "Completion", "GenerateStats", "library_version"]

_Text = Union[str, bytes]
_Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def library_version() -> str:
    """The version of the libacorn actually loaded (acorn_version()), e.g. "0.1.0"."""
    return _L.lib().acorn_version().decode()


def _utf8(text: _Text, what: str) -> bytes:
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(text).__name__))


@dataclasses.dataclass(frozen=True)
class GenerateStats:
    """What one generation did (acorn_generate_stats)."""

    prompt_tokens: int  #: tokens prefilled for this call
    generated_tokens: int  #: new tokens sampled
    prefill_ms: float
    decode_ms: float
    stop_reason: Union[StopReason, int]  #: why it ended; an int for a reason newer than this binding

    @property
    def tokens_per_second(self) -> float:
        """Decode speed: generated tokens per second of decoding (0 when nothing was decoded)."""
        return self.generated_tokens * 1000.0 / self.decode_ms if self.decode_ms > 0 else 0.0

    @property
    def prefill_tokens_per_second(self) -> float:
        """Prompt processing speed (0 when the prefill took no measurable time)."""
        return self.prompt_tokens * 1000.0 / self.prefill_ms if self.prefill_ms > 0 else 0.0

    @classmethod
    def _from_c(cls, s: _L.GenerateStats) -> "GenerateStats":
        return cls(
            prompt_tokens=int(s.prompt_tokens),
            generated_tokens=int(s.generated_tokens),
            prefill_ms=float(s.prefill_ms),
            decode_ms=float(s.decode_ms),
            stop_reason=_L._enum_or_int(StopReason, s.stop_reason),
        )


@dataclasses.dataclass(frozen=True)
class Completion:
    """A whole reply (``stream=False``): its ``text`` and ``stats``. ``str(completion)`` is the text."""

    text: str
    stats: GenerateStats

    def __str__(self) -> str:
        return self.text


def _new_stats() -> _L.GenerateStats:
    s = _L.GenerateStats()
    s.struct_size = ctypes.sizeof(_L.GenerateStats)
    return s


def _generate_options(
    max_tokens: Optional[int] = None,
    temperature: Optional[float] = None,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    min_p: Optional[float] = None,
    repeat_penalty: Optional[float] = None,
    repeat_last_n: Optional[int] = None,
    seed: Optional[int] = None,
    add_special_tokens: Optional[bool] = None,
) -> _L.GenerateOptions:
    # The library's defaults first (acorn_generate_options_init), then what the caller named.
    o = _L.GenerateOptions()
    _L.lib().acorn_generate_options_init_sized(ctypes.byref(o), ctypes.sizeof(o))
    if max_tokens is not None:
        if max_tokens < 0:
            raise ValueError("max_tokens must be >= 0, got %d" % max_tokens)
        o.max_tokens = max_tokens
    if temperature is not None:
        o.temperature = temperature
    if top_k is not None:
        o.top_k = top_k
    if top_p is not None:
        o.top_p = top_p
    if min_p is not None:
        o.min_p = min_p
    if repeat_penalty is not None:
        o.repeat_penalty = repeat_penalty
    if repeat_last_n is not None:
        o.repeat_last_n = repeat_last_n
    if seed is not None:
        if not 0 <= seed < 2**64:
            raise ValueError("seed must be in [0, 2**64), got %d" % seed)
        o.seed = seed
    if add_special_tokens is not None:
        o.add_special_tokens = 1 if add_special_tokens else 0
    return o


# A blocking C call that streams: given the C callback, it runs and returns the stats.
_Run = Callable[[_L.TextCallback], _L.GenerateStats]


def _run_blocking(run: _Run) -> Completion:
    """Runs on the caller's thread; an exception in the callback (KeyboardInterrupt from Ctrl-C, say)
    stops generation and is raised once the C call has returned."""
    pieces: List[bytes] = []
    raised: List[BaseException] = []

    def on_text(ptr, n, _user):
        try:
            pieces.append(ctypes.string_at(ptr, n))
            return 0
        except BaseException as e:  # noqa: B902 - re-raised below, after the C call unwinds
            raised.append(e)
            return 1

    stats = run(_L.TextCallback(on_text))
    if raised:
        raise raised[0]
    return Completion(b"".join(pieces).decode("utf-8", errors="replace"), GenerateStats._from_c(stats))


# Pieces the worker may produce ahead of the consumer: enough to keep the consumer from waiting on
# each token, few enough that a consumer who stops has not paid for many more tokens.
_LOOKAHEAD = 4


class _StreamState:
    """What a streaming Generation and its worker thread share. The worker holds only this, never the
    Generation, so that dropping the Generation lets it be collected (and close itself)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.pieces: "collections.deque[bytes]" = collections.deque()
        self.cancelled = False
        self.done = False
        self.thread: Optional[threading.Thread] = None
        self.stats: Optional[_L.GenerateStats] = None
        self.error: Optional[BaseException] = None
        # Set when the Generation is closed from inside its own callback (a garbage collection on the
        # worker thread): what must wait until the C call has returned.
        self.after: Optional[Callable[[], None]] = None

    def put(self, piece: bytes) -> bool:
        """The worker's side: waits for room; False when the consumer has stopped."""
        with self.cond:
            while len(self.pieces) >= _LOOKAHEAD and not self.cancelled:
                self.cond.wait()
            if self.cancelled:
                return False
            self.pieces.append(piece)
            self.cond.notify_all()
            return True

    def get(self) -> Optional[bytes]:
        """The consumer's side: the next piece, or None at the end."""
        with self.cond:
            while not self.pieces and not self.done:
                self.cond.wait()
            if not self.pieces:
                return None
            piece = self.pieces.popleft()
            self.cond.notify_all()
            return piece

    def finish(self) -> None:
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def stop(self) -> None:
        """Asks the worker to stop and waits for it (unless called on the worker itself)."""
        with self.cond:
            self.cancelled = True
            self.cond.notify_all()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join()


# Streams still running at interpreter exit are cancelled and waited for, so that no C call tries to
# call back into a finalized interpreter.
_live_streams: "weakref.WeakSet[_StreamState]" = weakref.WeakSet()


@atexit.register
def _stop_live_streams() -> None:
    for state in list(_live_streams):
        state.stop()


def _worker(state: _StreamState, run: _Run) -> None:
    def on_text(ptr, n, _user):
        return 0 if state.put(ctypes.string_at(ptr, n)) else 1

    try:
        state.stats = run(_L.TextCallback(on_text))
    except BaseException as e:  # noqa: B902 - handed to the consuming thread
        state.error = e
    finally:
        state.finish()
        if state.after is not None:
            state.after()


class _Closing:
    """close() at the end of a with block and at garbage collection (never raising there)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # never raise from a finalizer
            pass


class Generation(_Closing):
    """An iterator over the pieces of text of a reply as they are generated (``stream=True``).

    The text is produced on a worker thread. Leaving the iteration early (``break``, then
    :meth:`close`, ``with``, or simply dropping the object) stops generation at the next token; the
    session then holds the tokens generated so far. After the end, :attr:`stats` says what happened
    and :attr:`text` holds the whole reply.
    """

    def __init__(self, run: _Run, owner: object, on_done: Optional[Callable[[], None]] = None) -> None:
        self._state = _StreamState()
        self._owner = owner  # keeps the session / chat (and so the model) alive while the worker runs
        self._on_done = on_done
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: List[str] = []
        self._finished = False
        thread = threading.Thread(target=_worker, args=(self._state, run), name="acorn-generate", daemon=True)
        self._state.thread = thread
        _live_streams.add(self._state)
        thread.start()

    def __iter__(self) -> "Generation":
        return self

    def __next__(self) -> str:
        while not self._finished:
            item = self._state.get()
            if item is None:
                self._finish()
                tail = self._decoder.decode(b"", final=True)
                if tail:
                    self._parts.append(tail)
                    return tail
                break
            text = self._decoder.decode(item)
            if text:
                self._parts.append(text)
                return text
        raise StopIteration

    def _finish(self) -> None:
        self._end()
        if self._state.error is not None:
            error, self._state.error = self._state.error, None
            raise error

    def _end(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._state.stop()
        _live_streams.discard(self._state)
        if self._on_done is not None:
            if threading.current_thread() is self._state.thread:
                self._state.after = self._on_done
            else:
                self._on_done()

    def close(self) -> None:
        """Stops generation (if still running) and waits for the worker to finish. Idempotent."""
        self._end()

    @property
    def text(self) -> str:
        """The text yielded so far (the whole reply once the iteration has ended)."""
        return "".join(self._parts)

    @property
    def stats(self) -> Optional[GenerateStats]:
        """The generation's statistics once it has ended (None before, or when it failed)."""
        if not self._finished or self._state.stats is None:
            return None
        return GenerateStats._from_c(self._state.stats)


class _Handle(_Closing):
    """A C handle freed by close() or at garbage collection, and an error when used after close()."""

    _kind = "object"

    def __init__(self) -> None:
        self._ptr = ctypes.c_void_p()

    @property
    def _h(self) -> ctypes.c_void_p:
        if not self._ptr.value:
            raise AcornError("the %s is closed" % self._kind, Status.INVALID_ARGUMENT)
        return self._ptr

    @property
    def closed(self) -> bool:
        return not self._ptr.value

    def _free(self, ptr: ctypes.c_void_p) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Frees the C object now (otherwise it is freed when this object is garbage collected)."""
        if self._ptr.value:
            ptr, self._ptr = self._ptr, ctypes.c_void_p()
            self._free(ptr)



class _Streaming(_Handle):
    """A session or chat: one generation at a time, which may be running on a worker thread."""

    def __init__(self) -> None:
        super().__init__()
        self._active: Optional["weakref.ref[Generation]"] = None

    def _stop_active(self) -> None:
        gen = self._active() if self._active is not None else None
        self._active = None
        if gen is not None:
            gen.close()

    def _start(self, run: _Run, stream: bool, on_done: Optional[Callable[[], None]] = None):
        # The C session is used by one thread at a time: a new call stops the previous stream first.
        self._stop_active()
        if not stream:
            try:
                return _run_blocking(run)
            finally:
                if on_done is not None:
                    on_done()
        gen = Generation(run, self, on_done)
        self._active = weakref.ref(gen)
        return gen

    def close(self) -> None:
        """Stops a running generation, then frees the C object. Idempotent."""
        self._stop_active()
        super().close()


class Model(_Handle):
    """A loaded .acorn bundle: immutable, shareable by many sessions and threads.

    ``source`` is a path (str or os.PathLike) or the bundle's bytes (bytes, bytearray, memoryview,
    mmap, ...). Bytes are not copied (except from a read-only buffer that is not ``bytes``): the
    model keeps a reference, and a bytearray cannot be resized while the model lives.

    ``backends`` is a preference list such as ``"cuda,cpu"``; ``threads`` the default CPU threads of
    its sessions (0: all cores); ``load_mode`` ``"mmap"`` (map the file, default) or ``"read"``.
    Use it as a context manager, or call :meth:`close`; sessions and chats made from it keep working
    after the model is closed.
    """

    _kind = "model"

    def __init__(self, source: _Source, backends: str = "cpu", threads: int = 0, load_mode: str = "mmap") -> None:
        super().__init__()
        self._buffer: object = None
        self._embed_size: Optional[int] = None
        L = _L.lib()
        options = _L.ModelOptions()
        L.acorn_model_options_init_sized(ctypes.byref(options), ctypes.sizeof(options))
        options.backends = backends.encode()
        options.threads = threads
        if load_mode not in ("mmap", "read"):
            raise ValueError('load_mode must be "mmap" or "read", got %r' % (load_mode,))
        options.load_mode = 0 if load_mode == "mmap" else 1
        if isinstance(source, (str, os.PathLike)):
            _L.call("acorn_model_load", os.fsencode(source), ctypes.byref(options), ctypes.byref(self._ptr))
            return
        data, size = self._pin(source)
        _L.call("acorn_model_load_from_memory", data, size, ctypes.byref(options), ctypes.byref(self._ptr))

    def _pin(self, source: object):
        """A pointer to the bundle's bytes and their size; self._buffer keeps them alive and unmoved."""
        if isinstance(source, bytes):
            self._buffer = source
            return ctypes.cast(ctypes.c_char_p(source), ctypes.c_void_p), len(source)
        try:
            view = memoryview(source)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                "Model() takes a path (str, os.PathLike) or the bundle's bytes (bytes, bytearray, memoryview), "
                "not %s" % type(source).__name__
            ) from None
        if not view.c_contiguous:
            raise ValueError("the bundle's buffer must be contiguous")
        view = view.cast("B")
        if view.readonly:
            copy = bytes(view)  # ctypes can only point into writable buffers (or bytes)
            self._buffer = copy
            return ctypes.cast(ctypes.c_char_p(copy), ctypes.c_void_p), len(copy)
        # from_buffer holds a buffer export: a bytearray cannot be resized (or freed) under the model.
        pinned = (ctypes.c_char * len(view)).from_buffer(view)
        self._buffer = pinned
        return ctypes.cast(pinned, ctypes.c_void_p), len(view)

    def _free(self, ptr: ctypes.c_void_p) -> None:
        # self._buffer stays: sessions made from the model may still read it.
        _L.lib().acorn_model_free(ptr)

    @property
    def context_length(self) -> int:
        """Tokens the model's context holds."""
        return int(_L.lib().acorn_model_context_length(self._h))

    @property
    def vocab_size(self) -> int:
        """Tokens in the tokenizer's vocabulary (0 when the bundle has no tokenizer)."""
        return int(_L.lib().acorn_model_vocab_size(self._h))

    def tokenize(self, text: _Text, add_special_tokens: bool = True) -> List[int]:
        """The token ids of ``text`` (str, or UTF-8 bytes); ``add_special_tokens`` adds BOS / CLS etc."""
        data = _utf8(text, "text")
        n = ctypes.c_size_t()
        capacity = len(data) + 16  # enough for nearly every text: one attempt
        while True:
            ids = (ctypes.c_int32 * capacity)()
            err = ctypes.c_void_p()
            status = _L.lib().acorn_tokenize(
                self._h, data, len(data), int(bool(add_special_tokens)), ids, capacity, ctypes.byref(n), ctypes.byref(err)
            )
            if status == Status.OK:
                return list(ids[: n.value])
            error = _L.take_error(status, err)
            if status != Status.OUT_OF_RANGE or n.value <= capacity:
                raise error
            capacity = n.value

    def detokenize(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """The text of token ids; ``skip_special_tokens`` drops BOS, EOS and the like."""
        c_ids = (ctypes.c_int32 * len(ids))(*ids)
        n = ctypes.c_size_t()
        capacity = 16 * len(ids) + 16
        while True:
            buf = ctypes.create_string_buffer(capacity)
            err = ctypes.c_void_p()
            status = _L.lib().acorn_detokenize(
                self._h, c_ids, len(ids), int(bool(skip_special_tokens)), buf, capacity, ctypes.byref(n), ctypes.byref(err)
            )
            if status == Status.OK:
                return buf.raw[: n.value].decode("utf-8", errors="replace")
            error = _L.take_error(status, err)
            if status != Status.OUT_OF_RANGE or n.value + 1 <= capacity:
                raise error
            capacity = n.value + 1

    def session(self, threads: int = 0) -> "Session":
        """A new conversation state on this model (``threads`` 0: the model's default)."""
        return Session(self, threads)

    def generate(self, prompt: _Text, *, stream: bool = True, **options) -> Union[Generation, Completion]:
        """Continues ``prompt`` (no chat template) in a fresh session, freed when the generation ends.
        Options: max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed,
        add_special_tokens, as in :meth:`Session.generate` (the defaults are greedy and deterministic).
        ``stream=True`` returns a :class:`Generation` (an iterator of text pieces), ``stream=False``
        a :class:`Completion`."""
        session = Session(self)
        return session._generate(prompt, stream, options, on_done=session.close)

    def chat(self, system: Optional[str] = None, *, messages: Optional[List[dict]] = None, threads: int = 0,
             **options) -> "Chat":
        """A conversation that follows the bundle's chat template, with an optional system prompt
        and earlier turns (``messages``: dicts with "role" "user" or "assistant" and "content", as
        in other chat APIs). ``options`` (max_tokens, temperature, ...) apply to every reply; see
        :meth:`Session.generate`."""
        chat = Chat(self, system, threads, options)
        for m in messages or []:
            chat.add(m["role"], m["content"])
        return chat

    def embed(self, text: _Text) -> List[float]:
        """The pooled sentence embedding of ``text`` (L2-normalized when the bundle says so). Encoder
        (BERT-family) bundles only: a decoder raises AcornError with code UNSUPPORTED."""
        data = _utf8(text, "text")
        n = ctypes.c_size_t()
        L = _L.lib()
        if self._embed_size is None:
            _L.call("acorn_embed", self._h, None, 0, None, 0, ctypes.byref(n))
            self._embed_size = n.value
        out = array.array("f", bytes(4 * self._embed_size))
        ptr = ctypes.cast(out.buffer_info()[0], ctypes.POINTER(ctypes.c_float))
        err = ctypes.c_void_p()
        status = L.acorn_embed(self._h, data, len(data), ptr, self._embed_size, ctypes.byref(n), ctypes.byref(err))
        if status != Status.OK:
            raise _L.take_error(status, err)
        return out.tolist()

    def __repr__(self) -> str:
        if self.closed:
            return "<acorn.Model closed>"
        return "<acorn.Model context_length=%d vocab_size=%d>" % (self.context_length, self.vocab_size)


class Session(_Streaming):
    """One conversation's state (the KV cache) on a model: each generate() continues where the
    previous one stopped. One generation at a time: starting another stops a running stream first."""

    _kind = "session"

    def __init__(self, model: Model, threads: int = 0) -> None:
        super().__init__()
        self._model = model  # the model's bytes (load from memory) must outlive the session
        options = _L.SessionOptions()
        _L.lib().acorn_session_options_init_sized(ctypes.byref(options), ctypes.sizeof(options))
        options.threads = threads
        _L.call("acorn_session_create", model._h, ctypes.byref(options), ctypes.byref(self._ptr))

    def _free(self, ptr: ctypes.c_void_p) -> None:
        _L.lib().acorn_session_free(ptr)

    @property
    def model(self) -> Model:
        return self._model

    @property
    def position(self) -> int:
        """Tokens the session holds (its position in the context)."""
        return int(_L.lib().acorn_session_position(self._h))

    def reset(self) -> None:
        """Forgets the conversation: back to position 0."""
        self._stop_active()
        _L.lib().acorn_session_reset(self._h)

    def generate(
        self,
        prompt: _Text,
        *,
        stream: bool = True,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        top_k: Optional[int] = None,
        top_p: Optional[float] = None,
        min_p: Optional[float] = None,
        repeat_penalty: Optional[float] = None,
        repeat_last_n: Optional[int] = None,
        seed: Optional[int] = None,
        add_special_tokens: bool = True,
    ) -> Union[Generation, Completion]:
        """Runs ``prompt`` from the session's position and samples a continuation until the end of
        sequence, ``max_tokens`` or a full context. No chat template is applied (see :meth:`Model.chat`).

        Options left at None take the library's defaults: max_tokens 256, temperature 0 (greedy:
        deterministic), top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1 (off), repeat_last_n 64,
        seed 0 (the same seed gives the same tokens on every platform). ``add_special_tokens`` adds
        the tokenizer's BOS to the prompt.

        ``stream=True`` returns a :class:`Generation` that yields pieces of text as they come;
        ``stream=False`` waits and returns a :class:`Completion` (text and stats).
        """
        options = dict(
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            min_p=min_p,
            repeat_penalty=repeat_penalty,
            repeat_last_n=repeat_last_n,
            seed=seed,
            add_special_tokens=add_special_tokens,
        )
        return self._generate(prompt, stream, options)

    def _generate(self, prompt: _Text, stream: bool, options: dict, on_done=None):
        data = _utf8(prompt, "prompt")
        c_options = _generate_options(**options)
        _ = self._h  # a closed session or chat raises here, not on the worker

        def run(callback: _L.TextCallback) -> _L.GenerateStats:
            # `self`, not its handle: the worker keeps the session alive until the C call returns.
            stats = _new_stats()
            _L.call(
                "acorn_generate", self._h, data, len(data), ctypes.byref(c_options), callback, None, ctypes.byref(stats)
            )
            return stats

        return self._start(run, stream, on_done)


class Chat(_Streaming):
    """A multi-turn conversation with the bundle's chat template and an optional system prompt; it
    owns its session. Make one with :meth:`Model.chat`."""

    _kind = "chat"

    def __init__(self, model: Model, system: Optional[str], threads: int, options: dict) -> None:
        super().__init__()
        self._model = model
        session_options = _L.SessionOptions()
        _L.lib().acorn_session_options_init_sized(ctypes.byref(session_options), ctypes.sizeof(session_options))
        session_options.threads = threads
        c_options = _generate_options(**options)
        system_c = None if system is None else _utf8(system, "system")
        if system_c is not None and b"\0" in system_c:
            raise ValueError("the system prompt contains a NUL character")
        _L.call(
            "acorn_chat_create",
            model._h,
            system_c,
            ctypes.byref(session_options),
            ctypes.byref(c_options),
            ctypes.byref(self._ptr),
        )

    def _free(self, ptr: ctypes.c_void_p) -> None:
        _L.lib().acorn_chat_free(ptr)

    @property
    def model(self) -> Model:
        return self._model

    def send(self, message: _Text, *, stream: bool = True) -> Union[Generation, Completion]:
        """Adds the user's ``message`` and generates the assistant's reply, which joins the
        conversation. ``stream=True`` returns a :class:`Generation` (pieces as they come),
        ``stream=False`` a :class:`Completion`. A reply cut short by closing the Generation stays in
        the conversation as far as it got."""
        data = _utf8(message, "message")
        if b"\0" in data:
            raise ValueError("the message contains a NUL character")
        _ = self._h  # a closed session or chat raises here, not on the worker

        def run(callback: _L.TextCallback) -> _L.GenerateStats:
            # `self`, not its handle: the worker keeps the chat alive until the C call returns.
            stats = _new_stats()
            _L.call("acorn_chat_reply", self._h, data, callback, None, ctypes.byref(stats))
            return stats

        return self._start(run, stream)

    def add(self, role: str, content: _Text) -> None:
        """Adds a "user" or "assistant" message without generating (restoring a saved conversation);
        the next :meth:`send` continues from it."""
        role_c = _utf8(role, "role")
        data = _utf8(content, "content")
        if b"\0" in data or b"\0" in role_c:
            raise ValueError("the message contains a NUL character")
        self._stop_active()
        _L.call("acorn_chat_add_message", self._h, role_c, data)

    def reset(self) -> None:
        """Forgets everything but the system prompt."""
        self._stop_active()
        _L.lib().acorn_chat_reset(self._h)

    def __len__(self) -> int:
        """Messages in the conversation (the system prompt, user turns and replies)."""
        return int(_L.lib().acorn_chat_message_count(self._h))
