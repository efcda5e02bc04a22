#!/usr/bin/env bash
# Install the test services' tools that are not Python packages (called by `make setup`; idempotent).
# Today that is only Azurite, from the npm registry, into <repo>/.cache/npm (gitignored).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
prefix="$repo/.cache/npm"
azurite_blob="$prefix/node_modules/.bin/azurite-blob"

if [ -x "$azurite_blob" ] && [ "$("$azurite_blob" --version 2>/dev/null)" = "$AZURITE_VERSION" ]; then
  echo "install-tools: azurite $AZURITE_VERSION already in $prefix"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-tools: npm not found; Azurite (the Azure Blob emulator) needs Node.js >= 18 with npm" >&2
  exit 1
fi
mkdir -p "$prefix"
# No audit/fund/update-notifier calls: the registry download is the only network traffic we need.
npm install --prefix "$prefix" --no-audit --no-fund --no-update-notifier --loglevel=error \
  "azurite@$AZURITE_VERSION" >&2
echo "install-tools: azurite $("$azurite_blob" --version) installed in $prefix"
