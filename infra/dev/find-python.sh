#!/usr/bin/env bash
# Print the absolute path of an installed Python >= 3.12 for uv to use.
# uv cannot download interpreters here and does not see pyenv's, so we look ourselves.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
# The real interpreter, never a virtualenv's link to it: uv must not build the venv from itself.
real() { "$1" -c 'import os, sys; print(os.path.realpath(sys.executable))'; }

if [ -n "${UV_PYTHON:-}" ] && ok "$UV_PYTHON"; then real "$UV_PYTHON"; exit 0; fi
if command -v "${UV:-uv}" >/dev/null 2>&1; then
  found=$("${UV:-uv}" python find '>=3.12' 2>/dev/null) && ok "$found" && { real "$found"; exit 0; }
fi
for cand in python3.12 python3.13 python3; do
  p=$(command -v "$cand" 2>/dev/null) || continue
  ok "$p" && { real "$p"; exit 0; }
done
if command -v pyenv >/dev/null 2>&1; then
  for p in $(ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V); do
    ok "$p" && { real "$p"; exit 0; }
  done
fi
echo "find-python: no Python >= 3.12 found (tried uv, python3.13/3.12/3 on PATH, pyenv versions)" >&2
exit 1
