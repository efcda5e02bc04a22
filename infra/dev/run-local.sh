#!/usr/bin/env bash
# `make run`: start the local stack on fixed ports, print its addresses, stay in the foreground until
# Ctrl-C or SIGTERM, then stop everything this script started (newest first).
#
# That is the Kafka-protocol broker (tansu, in-memory) with its two topics, the S3 emulator (moto,
# in-memory: the released frontier presigns uploads only for S3, GCS or Azure, never for local files),
# the released matyan-frontier 0.3.0 (its own venv under .cache/, see install-tools.sh), our ingest and
# control workers and our API with the UI. The store (LMDB) lives in $RUN_DIR/data and is emptied at
# every start: the broker and the S3 emulator start empty too, and stored Kafka positions or blob keys
# from an earlier session would not match them. To add a part, start it
# below with `start_service KIND PORT [options]` (a test service from services.sh) or
# `start_process NAME CMD...` (our own processes: API, workers); both are stopped on exit, and the loop
# at the end exits when any of them dies. Settings are exported under the names the backend reads.
#
# Env: RUN_DIR (pids/logs/data, default <repo>/.run), UV, MATYAN_DEV_KAFKA_PORT (9092),
#      MATYAN_DEV_KAFKA_PARTITIONS (4), MATYAN_DEV_S3_PORT (9000), MATYAN_DEV_API_PORT (53800),
#      MATYAN_DEV_FRONTIER_PORT (53801), MATYAN_DEV_INGEST_METRICS_PORT (9101),
#      MATYAN_DEV_CONTROL_METRICS_PORT (9102); MATYAN_AUTH=enabled turns authentication on (the token
#      to use is printed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
UV="${UV:-$(infra/dev/ensure-uv.sh)}"
UV_PYTHON="${UV_PYTHON:-$(UV="$UV" infra/dev/find-python.sh)}"
export UV_PYTHON UV_PYTHON_DOWNLOADS=never
RUN_DIR="${RUN_DIR:-$repo/.run}"
export RUN_DIR
mkdir -p "$RUN_DIR"
kafka_port="${MATYAN_DEV_KAFKA_PORT:-9092}"
kafka_partitions="${MATYAN_DEV_KAFKA_PARTITIONS:-4}"

services() { "$UV" run --frozen python infra/dev/matyan_dev_services.py --run-dir "$RUN_DIR" "$@"; }

started_services=()   # kinds, stopped through services.sh
started_pids=()       # our own processes
started_names=()

cleanup() {
  trap - EXIT INT TERM
  local i
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
    echo "run-local: stopping ${started_names[i]} (pid ${started_pids[i]})"
    kill -TERM "${started_pids[i]}" 2>/dev/null || true
    wait "${started_pids[i]}" 2>/dev/null || true
  done
  for ((i = ${#started_services[@]} - 1; i >= 0; i--)); do
    services stop "${started_services[i]}" || true
  done
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# start_service KIND PORT [options]: the service's JSON record is left in $service_record.
# (Not called as $(...): a subshell would lose the started_services entry, and the service with it.)
service_record=""
start_service() {
  local kind="$1"
  shift
  service_record="$(services start "$kind" "$@")"
  started_services+=("$kind")
}

# start_process NAME CMD...: runs CMD in the background, output in $RUN_DIR/NAME.log.
start_process() {
  local name="$1"
  shift
  "$@" >>"$RUN_DIR/$name.log" 2>&1 &
  started_pids+=("$!")
  started_names+=("$name")
  echo "run-local: $name started (pid $!, log $RUN_DIR/$name.log)"
}

service_pid() { sed -E 's/.*"pid": *([0-9]+).*/\1/' "$RUN_DIR/$1.pid"; }

start_service kafka "$kafka_port" --partitions "$kafka_partitions"
kafka_record="$service_record"
export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$kafka_port"
export KAFKA_DATA_INGESTION_TOPIC=data-ingestion
export KAFKA_CONTROL_EVENTS_TOPIC=control-events

s3_port="${MATYAN_DEV_S3_PORT:-9000}"
start_service s3 "$s3_port" --bucket matyan
# The frontier and our backend read the same variable names: one set serves both.
export BLOB_BACKEND_TYPE=s3 S3_ENDPOINT="http://127.0.0.1:$s3_port" S3_BUCKET=matyan
export S3_ACCESS_KEY=matyan-test S3_SECRET_KEY=matyan-test-secret S3_REGION=us-east-1

# The store: LMDB under $RUN_DIR/data, emptied at start (see the header).
export MATYAN_DATA_DIR="$RUN_DIR/data"
export MATYAN_STORE_ENGINE=lmdb
rm -rf "$MATYAN_DATA_DIR"
mkdir -p "$MATYAN_DATA_DIR"
api_port="${MATYAN_DEV_API_PORT:-53800}"
frontier_port="${MATYAN_DEV_FRONTIER_PORT:-53801}"
api_url="http://127.0.0.1:$api_port"
frontier_url="http://127.0.0.1:$frontier_port"

wait_live() { # NAME URL: wait for URL/health/live/ to answer, else show NAME's log and fail
  for _ in $(seq 1 120); do
    curl -fsS "$2/health/live/" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "run-local: $1 did not come up; see $RUN_DIR/$1.log" >&2
  tail -20 "$RUN_DIR/$1.log" >&2
  exit 1
}

frontier_bin="$repo/.cache/frontier-venv/bin/matyan-frontier"
[ -x "$frontier_bin" ] || { echo "run-local: $frontier_bin is missing; run make setup" >&2; exit 1; }
# The frontier reads ./.env: an empty working directory keeps a stray one out.
mkdir -p "$RUN_DIR/frontier"
cd "$RUN_DIR/frontier"
start_process frontier "$frontier_bin" start --host 127.0.0.1 --port "$frontier_port"
cd "$repo"
METRICS_PORT="${MATYAN_DEV_INGEST_METRICS_PORT:-9101}" start_process ingest-worker "$UV" run --frozen matyan-backend ingest-worker
METRICS_PORT="${MATYAN_DEV_CONTROL_METRICS_PORT:-9102}" start_process control-worker "$UV" run --frozen matyan-backend control-worker
start_process api "$UV" run --frozen matyan-backend start --host 127.0.0.1 --port "$api_port" --ui
wait_live frontier "$frontier_url"
wait_live api "$api_url"

repo_url="$api_url"
if [ "${MATYAN_AUTH:-}" = enabled ]; then
  token="$("$UV" run --frozen matyan-backend tokens create --name run-local --scope admin 2>/dev/null)"
  # The released client sends a URL's user:password as HTTP Basic auth; the API takes the token there.
  repo_url="http://run-local:$token@127.0.0.1:$api_port"
  echo "run-local: authentication is on; admin token (sign in to the UI with it): $token"
fi

cat <<INFO
run-local: up. Run directory: $RUN_DIR
  UI: $api_url/
  Log a first run (Python, in this repo's .venv: uv run python):
    from matyan_client import Run
    run = Run(repo="$repo_url", frontier_url="$frontier_url")
    run.track(0.5, name="loss", step=0); run.close()
  Demo runs for every explorer: make demo
  Matyan API: $api_url/api/v1/rest/  (health: /health/ready/, docs: /docs)
  Frontier (the client's ingestion endpoint): $frontier_url
  Data (LMDB store, emptied at every start): $MATYAN_DATA_DIR
  Blobs (S3 emulator, in-memory): $S3_ENDPOINT bucket $S3_BUCKET
  ingest-worker metrics: http://127.0.0.1:${MATYAN_DEV_INGEST_METRICS_PORT:-9101}/metrics  control-worker: ${MATYAN_DEV_CONTROL_METRICS_PORT:-9102}
  Kafka broker (tansu, in-memory): $KAFKA_BOOTSTRAP_SERVERS
    topics: $KAFKA_DATA_INGESTION_TOPIC ($kafka_partitions partitions), $KAFKA_CONTROL_EVENTS_TOPIC (1)
    record: $kafka_record
  Logs: $RUN_DIR/*.log
Press Ctrl-C to stop.
INFO

while true; do
  for kind in "${started_services[@]}"; do
    if ! kill -0 "$(service_pid "$kind")" 2>/dev/null; then
      echo "run-local: $kind died; last log lines:" >&2
      tail -n 20 "$RUN_DIR/$kind.log" >&2 || true
      exit 1
    fi
  done
  for i in "${!started_pids[@]}"; do
    if ! kill -0 "${started_pids[i]}" 2>/dev/null; then
      echo "run-local: ${started_names[i]} exited; last log lines:" >&2
      tail -n 20 "$RUN_DIR/${started_names[i]}.log" >&2 || true
      exit 1
    fi
  done
  # Sleeping in the background lets the INT/TERM trap run at once instead of after the sleep.
  sleep 1 &
  wait $! || true
done
