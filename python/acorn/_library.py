"""Finding and loading libacorn.so, and the ctypes declarations of the C API (acorn/acorn.h).

Nothing here is public: acorn/__init__.py exports the Pythonic layer built on it (_api.py).
"""

import ctypes
import ctypes.util
import enum
import glob
import os
import threading
from typing import List, Optional

__all__ = ["AcornError", "Status", "StopReason", "lib", "call", "library_path"]


class Status(enum.IntEnum):
    """The C API's acorn_status (mirrors acorn::ErrorCode). A newer library may return other values."""

    OK = 0
    INVALID_ARGUMENT = 1
    NOT_FOUND = 2
    MALFORMED = 3
    UNSUPPORTED = 4
    OUT_OF_RANGE = 5
    OUT_OF_MEMORY = 6
    IO = 7
    BACKEND = 8
    INTERNAL = 9


class StopReason(enum.IntEnum):
    """Why a generation ended (acorn_stop_reason)."""

    TOKEN = 0  # end of sequence / end of turn
    STRING = 1
    MAX_TOKENS = 2
    CONTEXT_FULL = 3
    CANCELLED = 4  # the consumer stopped it (closed the iterator)


def _enum_or_int(cls, value):
    # Enums only grow on the C side: a value this binding does not know stays a plain int.
    try:
        return cls(value)
    except ValueError:
        return int(value)


class AcornError(Exception):
    """An error from acorn: ``code`` is a :class:`Status` (or an int a newer library added) and
    ``message`` the library's explanation (it names the file, the argument or the limit at fault)."""

    def __init__(self, message: str, code=Status.INTERNAL):
        super().__init__(message)
        self.message = message
        self.code = _enum_or_int(Status, code)

    def __str__(self) -> str:
        name = self.code.name.lower().replace("_", " ") if isinstance(self.code, Status) else "status %d" % self.code
        return "%s (%s)" % (self.message, name)


# ---- ctypes declarations (acorn/acorn.h) ---------------------------------------------------------


class ModelOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("backends", ctypes.c_char_p),
        ("threads", ctypes.c_int),
        ("load_mode", ctypes.c_int),
        ("cpu_repack", ctypes.c_int),
    ]


class SessionOptions(ctypes.Structure):
    # The fields up to `threads` only (sessions from Python let the library allocate their arena):
    # struct_size tells the library so, as for any program built against an older acorn.h.
    _fields_ = [("struct_size", ctypes.c_size_t), ("threads", ctypes.c_int)]


class GenerateOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("max_tokens", ctypes.c_int),
        ("temperature", ctypes.c_float),
        ("top_k", ctypes.c_int),
        ("top_p", ctypes.c_float),
        ("min_p", ctypes.c_float),
        ("repeat_penalty", ctypes.c_float),
        ("repeat_last_n", ctypes.c_int),
        ("seed", ctypes.c_uint64),
        ("add_special_tokens", ctypes.c_int),
    ]


class GenerateStats(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("prompt_tokens", ctypes.c_int64),
        ("generated_tokens", ctypes.c_int64),
        ("prefill_ms", ctypes.c_double),
        ("decode_ms", ctypes.c_double),
        ("stop_reason", ctypes.c_int),
    ]


# The piece arrives as a void pointer plus length: c_char_p would stop at a NUL byte.
TextCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)

_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_size = ctypes.c_size_t
_status = ctypes.c_int
_i32p = ctypes.POINTER(ctypes.c_int32)

# name: (restype, argtypes)
_PROTOTYPES = {
    "acorn_version": (ctypes.c_char_p, []),
    "acorn_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "acorn_error_code": (_status, [_p]),
    "acorn_error_message": (ctypes.c_char_p, [_p]),
    "acorn_error_free": (None, [_p]),
    "acorn_model_options_init_sized": (None, [ctypes.POINTER(ModelOptions), _size]),
    "acorn_model_load": (_status, [ctypes.c_char_p, ctypes.POINTER(ModelOptions), _pp, _pp]),
    "acorn_model_load_from_memory": (_status, [_p, _size, ctypes.POINTER(ModelOptions), _pp, _pp]),
    "acorn_model_free": (None, [_p]),
    "acorn_model_context_length": (ctypes.c_int64, [_p]),
    "acorn_model_vocab_size": (ctypes.c_int64, [_p]),
    "acorn_tokenize": (_status, [_p, _p, _size, ctypes.c_int, _i32p, _size, ctypes.POINTER(_size), _pp]),
    "acorn_detokenize": (_status, [_p, _i32p, _size, ctypes.c_int, _p, _size, ctypes.POINTER(_size), _pp]),
    "acorn_session_options_init_sized": (None, [ctypes.POINTER(SessionOptions), _size]),
    "acorn_session_create": (_status, [_p, ctypes.POINTER(SessionOptions), _pp, _pp]),
    "acorn_session_free": (None, [_p]),
    "acorn_session_reset": (None, [_p]),
    "acorn_session_position": (ctypes.c_int64, [_p]),
    "acorn_generate_options_init_sized": (None, [ctypes.POINTER(GenerateOptions), _size]),
    "acorn_generate": (
        _status,
        [_p, _p, _size, ctypes.POINTER(GenerateOptions), TextCallback, _p, ctypes.POINTER(GenerateStats), _pp],
    ),
    "acorn_chat_create": (
        _status,
        [_p, ctypes.c_char_p, ctypes.POINTER(SessionOptions), ctypes.POINTER(GenerateOptions), _pp, _pp],
    ),
    "acorn_chat_free": (None, [_p]),
    "acorn_chat_reset": (None, [_p]),
    "acorn_chat_reply": (_status, [_p, ctypes.c_char_p, TextCallback, _p, ctypes.POINTER(GenerateStats), _pp]),
    "acorn_chat_message_count": (_size, [_p]),
    "acorn_chat_add_message": (_status, [_p, ctypes.c_char_p, ctypes.c_char_p, _pp]),
    "acorn_embed": (_status, [_p, _p, _size, ctypes.POINTER(ctypes.c_float), _size, ctypes.POINTER(_size), _pp]),
}

# ---- Finding the library -------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SYSTEM_DIRS = ("/usr/local/lib", "/usr/lib")
_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None


def _candidates() -> List[str]:
    """Where to look, in order, after ACORN_LIBRARY: the package directory, the linker's search
    (ctypes.util.find_library), then the usual install prefixes."""
    out = sorted(glob.glob(os.path.join(_PACKAGE_DIR, "libacorn.so*")) + glob.glob(os.path.join(_PACKAGE_DIR, "libacorn*.dylib")))
    found = ctypes.util.find_library("acorn")
    if found:
        out.append(found)
    for d in _SYSTEM_DIRS:
        out.extend(sorted(glob.glob(os.path.join(d, "libacorn.so*"))))
    return out


def _not_found(tried: List[str]) -> AcornError:
    lines = [
        "cannot find the acorn shared library (libacorn.so).",
        "Looked at: $ACORN_LIBRARY (not set); %s/libacorn.so*; ctypes.util.find_library('acorn'); %s."
        % (_PACKAGE_DIR, ", ".join(d + "/libacorn.so*" for d in _SYSTEM_DIRS)),
    ]
    if tried:
        lines.append("Found but could not load: " + "; ".join(tried) + ".")
    lines.append(
        "Fix: build and install it (cmake -S . -B build && cmake --build build && sudo cmake --install build, "
        "then sudo ldconfig), or point ACORN_LIBRARY at it: export ACORN_LIBRARY=/path/to/libacorn.so"
    )
    return AcornError("\n".join(lines), Status.NOT_FOUND)


def _declare(cdll: ctypes.CDLL, path: str) -> None:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(cdll, name)
        except AttributeError:
            raise AcornError(
                "%s lacks %s(): it is an older or different library than this binding (acorn %s) needs; "
                "install a matching libacorn or set ACORN_LIBRARY to one" % (path, name, _binding_version()),
                Status.UNSUPPORTED,
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes


def _binding_version() -> str:
    from ._version import __version__

    return __version__


def _load() -> ctypes.CDLL:
    global _lib, _lib_path
    env = os.environ.get("ACORN_LIBRARY")
    if env:
        # An explicit choice is never silently replaced by another library.
        try:
            cdll = ctypes.CDLL(env)
        except OSError as e:
            raise AcornError(
                "ACORN_LIBRARY=%s cannot be loaded: %s. Set it to the full path of libacorn.so "
                "(e.g. build/libacorn.so or /usr/local/lib/libacorn.so), or unset it to search the usual places" % (env, e),
                Status.NOT_FOUND,
            ) from None
        _declare(cdll, env)
        _lib, _lib_path = cdll, env
        return cdll
    tried = []
    for path in _candidates():
        try:
            cdll = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        _declare(cdll, path)
        _lib, _lib_path = cdll, path
        return cdll
    raise _not_found(tried)


def lib() -> ctypes.CDLL:
    """The loaded library, loaded on first use (so that `import acorn` works without it)."""
    if _lib is not None:
        return _lib
    with _lock:
        return _lib if _lib is not None else _load()


def library_path() -> str:
    """The file the binding loaded libacorn from."""
    lib()
    assert _lib_path is not None
    return _lib_path


def call(name: str, *args) -> None:
    """Calls a fallible C function (its last parameter is acorn_error**) and raises AcornError on failure."""
    err = ctypes.c_void_p()
    L = lib()
    status = getattr(L, name)(*args, ctypes.byref(err))
    if status != Status.OK:
        raise take_error(status, err)


def take_error(status: int, err: ctypes.c_void_p) -> AcornError:
    """Turns a failed call's status and acorn_error into an AcornError, freeing the C error."""
    L = lib()
    if not err.value:
        name = L.acorn_status_name(status)
        return AcornError(name.decode() if name else "unknown error", status)
    try:
        message = L.acorn_error_message(err).decode("utf-8", errors="replace")
        code = L.acorn_error_code(err)
    finally:
        L.acorn_error_free(err)
    return AcornError(message, code)
