#!/usr/bin/env bash
# Start, check and stop the local test services on 127.0.0.1.
#   infra/dev/services.sh start  <kafka|s3|azure|gcs> [port] [--partitions N] [--storage memory|s3] [--bucket B]
#   infra/dev/services.sh status [kafka|s3|azure|gcs]
#   infra/dev/services.sh stop   <kafka|s3|azure|gcs|all>
# Pids, logs and address records go to --run-dir DIR (before the command), else $RUN_DIR, else <repo>/.run.
# The logic lives in matyan_dev_services.py, which the pytest fixtures use too.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
UV="${UV:-$(infra/dev/ensure-uv.sh)}"
UV_PYTHON="${UV_PYTHON:-$(UV="$UV" infra/dev/find-python.sh)}"
export UV_PYTHON UV_PYTHON_DOWNLOADS=never
exec "$UV" run --frozen python infra/dev/matyan_dev_services.py "$@"
