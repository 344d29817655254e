"""Finding libacorn: $ACORN_LIBRARY, the package directory, then the system; and the error that says
how to fix a missing library. Each case runs in a fresh interpreter (the library loads once)."""

import os
import subprocess
import sys

import acorn


def run_python(code: str, env_library=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("ACORN_LIBRARY", None)
    if env_library is not None:
        env["ACORN_LIBRARY"] = env_library
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_acorn_library_is_used_first():
    assert acorn.library_path() == os.environ["ACORN_LIBRARY"]
    assert acorn.library_version().count(".") == 2


def test_a_bad_acorn_library_is_an_error_not_a_fallback(tmp_path):
    bad = tmp_path / "libacorn.so"
    bad.write_bytes(b"not a shared library")
    r = run_python(
        "import acorn\n"
        "try:\n"
        "    acorn.library_version()\n"
        "except acorn.AcornError as e:\n"
        "    print(e.code.name, e.message)\n",
        env_library=str(bad),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("NOT_FOUND ACORN_LIBRARY=%s cannot be loaded" % bad)


def test_library_in_the_package_directory(tmp_path):
    (tmp_path / "libacorn.so").symlink_to(os.environ["ACORN_LIBRARY"])
    r = run_python(
        "import acorn, acorn._library as L\n"
        "L._PACKAGE_DIR = %r\n"
        "print(acorn.library_path())\n" % str(tmp_path)
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "libacorn.so")


def test_missing_library_says_how_to_fix_it(tmp_path):
    r = run_python(
        "import ctypes.util, acorn, acorn._library as L\n"
        "L._PACKAGE_DIR = %r\n"
        "L._SYSTEM_DIRS = ()\n"
        "ctypes.util.find_library = lambda name: None\n"
        "try:\n"
        "    acorn.Model('x.acorn')\n"
        "except acorn.AcornError as e:\n"
        "    print(e)\n" % str(tmp_path)
    )
    assert r.returncode == 0, r.stderr
    assert "cannot find the acorn shared library (libacorn.so)" in r.stdout
    assert "cmake --install" in r.stdout
    assert "export ACORN_LIBRARY=" in r.stdout
