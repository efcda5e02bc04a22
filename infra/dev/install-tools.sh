#!/usr/bin/env bash
# Install the test tools that cannot live in the uv workspace (called by `make setup`; idempotent):
# - Azurite (the Azure Blob emulator), from the npm registry, into <repo>/.cache/npm;
# - the released matyan-frontier, into its own virtualenv <repo>/.cache/frontier-venv, because its pins
#   (google-cloud-storage~=2.14) clash with our gcsfs and cannot share the workspace lock;
# - Debian's chromium (/usr/bin/chromium), the browser tests-integration/test_e2e_browser_ui.py drives with
#   Playwright (never `playwright install`), through apt-get when running as root or with sudo.
# The first two live under the gitignored .cache/.
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

install_chromium() {
  local chromium=/usr/bin/chromium
  if [ -x "$chromium" ]; then
    echo "install-tools: chromium already at $chromium"
    return 0
  fi
  local -a as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      # Not fatal for the other tools; the browser test fails with the same hint until chromium is there.
      echo "install-tools: $chromium is missing and this is neither root nor passwordless sudo;" \
        "install Debian's chromium (apt-get install chromium) or the browser test will fail" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: $chromium is missing and apt-get is not available; install chromium at $chromium" >&2
    return 0
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
  echo "install-tools: chromium installed at $chromium ($("$chromium" --version 2>/dev/null || echo '?'))"
}

install_azurite
install_frontier
install_chromium
