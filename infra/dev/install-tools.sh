#!/usr/bin/env bash
# Install the test tools that cannot live in the uv workspace (called by `make setup`; idempotent):
# - Azurite (the Azure Blob emulator), from the npm registry, into <repo>/.cache/npm;
# - the released matyan-frontier, into its own virtualenv <repo>/.cache/frontier-venv, because its pins
#   (google-cloud-storage~=2.14) clash with our gcsfs and cannot share the workspace lock.
# Both directories are under the gitignored .cache/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
FRONTIER_VERSION="${FRONTIER_VERSION:-0.3.0}"

install_azurite() {
  local prefix="$repo/.cache/npm"
  local azurite_blob="$prefix/node_modules/.bin/azurite-blob"
  if [ -x "$azurite_blob" ] && [ "$("$azurite_blob" --version 2>/dev/null)" = "$AZURITE_VERSION" ]; then
    echo "install-tools: azurite $AZURITE_VERSION already in $prefix"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-tools: npm not found; Azurite (the Azure Blob emulator) needs Node.js >= 18 with npm" >&2
    return 1
  fi
  mkdir -p "$prefix"
  # No audit/fund/update-notifier calls: the registry download is the only network traffic we need.
  npm install --prefix "$prefix" --no-audit --no-fund --no-update-notifier --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2
  echo "install-tools: azurite $("$azurite_blob" --version) installed in $prefix"
}

install_frontier() {
  local venv="$repo/.cache/frontier-venv"
  local py="$venv/bin/python"
  local have
  have=$("$py" -c 'import importlib.metadata as m; print(m.version("matyan-frontier"))' 2>/dev/null || true)
  if [ "$have" = "$FRONTIER_VERSION" ] && [ -x "$venv/bin/matyan-frontier" ]; then
    echo "install-tools: matyan-frontier $FRONTIER_VERSION already in $venv"
    return 0
  fi
  local uv="${UV:-$("$repo/infra/dev/ensure-uv.sh")}"
  local base="${UV_PYTHON:-$(UV="$uv" "$repo/infra/dev/find-python.sh")}"
  if [ ! -x "$py" ]; then
    "$uv" venv -q -p "$base" "$venv"
  fi
  # --python is required: with UV_PYTHON set (as `make` does), `uv pip` would otherwise install into
  # whichever environment UV_PYTHON names, possibly the workspace .venv.
  "$uv" pip install -q --python "$py" "matyan-frontier==$FRONTIER_VERSION" >&2
  echo "install-tools: matyan-frontier $FRONTIER_VERSION installed in $venv"
}

install_azurite
install_frontier
