"""acorn: run .acorn bundles (quantized LLaMA- and BERT-style models) from Python.

A thin ctypes binding over libacorn's C API (acorn/acorn.h)::

    import acorn

    with acorn.Model("models/acorn-chat-mini.acorn") as model:
        for piece in model.generate("Once upon a time", max_tokens=32):
            print(piece, end="", flush=True)
        chat = model.chat(system="You are terse.")
        print(chat.send("Hello!", stream=False).text)

The library is found through $ACORN_LIBRARY, a libacorn.so inside this package, the linker's
search path, then /usr/local/lib and /usr/lib; it is loaded on first use.
"""

from ._api import Chat, Completion, Generation, GenerateStats, Model, Session, library_version
from ._library import AcornError, Status, StopReason, library_path
from ._version import __version__

__all__ = [
    "AcornError",
    "Chat",
    "Completion",
    "Generation",
    "GenerateStats",
    "Model",
    "Session",
    "Status",
    "StopReason",
    "__version__",
    "library_path",
    "library_version",
]
