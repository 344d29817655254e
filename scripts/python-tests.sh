#!/usr/bin/env bash
# python-tests.sh LIBACORN_SO: installs the Python binding (python/) with pytest into a venv under
# build/python-venv and runs python/tests against LIBACORN_SO. The BERT tests also need
# acorn-convert: $ACORN_CONVERT, on PATH, or in the build tree of LIBACORN_SO (else they skip).
# The exit code is pytest's.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 LIBACORN_SO   (e.g. build/release/libacorn.so)" >&2
  exit 2
fi
lib=$(realpath -e "$1") || { echo "python-tests.sh: $1 does not exist; build libacorn first" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/build/python-venv"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet pytest
# A fresh install each run: the tests use what `pip install ./python` installs, not the source tree.
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$root/python"
# setuptools builds in the source tree; its leftovers would go stale in the next wheel.
rm -rf "$root/python/build" "$root/python"/*.egg-info

cd "$root/python/tests"
status=0
ACORN_LIBRARY="$lib" "$venv/bin/python" -m pytest -q -rs "$root/python/tests" || status=$?
exit "$status"
