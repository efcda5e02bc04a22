#!/usr/bin/env bash
# Print the path of a working uv binary, installing uv with pip when it is missing.
set -eu
# Prefer the real binary over a wrapper such as a pyenv shim, whose target depends on the directory.
for py in python3 python; do
  b=$("$py" -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null) && "$b" --version >/dev/null 2>&1 && { echo "$b"; exit 0; }
done
if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then command -v uv; exit 0; fi
for py in python3 python; do
  command -v "$py" >/dev/null 2>&1 || continue
  if ! "$py" -c 'import uv' >/dev/null 2>&1; then
    "$py" -m pip install --quiet --disable-pip-version-check uv >&2 || continue
  fi
  "$py" -c 'import uv; print(uv.find_uv_bin())' && exit 0
done
echo "ensure-uv: could not install uv with pip" >&2
exit 1
