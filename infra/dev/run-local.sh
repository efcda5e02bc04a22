#!/usr/bin/env bash
# `make run`: start the local stack on fixed ports, print its addresses, stay in the foreground until
# Ctrl-C or SIGTERM, then stop everything this script started (newest first).
#
# Today that is the Kafka-protocol broker (tansu, in-memory) with its two topics. To add a part, start it
# below with `start_service KIND PORT [options]` (a test service from services.sh) or
# `start_process NAME CMD...` (our own processes: API, workers); both are stopped on exit, and the loop
# at the end exits when any of them dies. Settings are exported under the names the backend reads.
#
# Env: RUN_DIR (pids/logs, default <repo>/.run), UV, MATYAN_DEV_KAFKA_PORT (9092),
#      MATYAN_DEV_KAFKA_PARTITIONS (4).
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

# Embedded defaults: LMDB store and local blobs under one data directory, kept between runs.
export MATYAN_DATA_DIR="${MATYAN_DATA_DIR:-$repo/.matyan-data}"
export MATYAN_STORE_ENGINE="${MATYAN_STORE_ENGINE:-lmdb}"
export BLOB_BACKEND_TYPE="${BLOB_BACKEND_TYPE:-local}"
mkdir -p "$MATYAN_DATA_DIR"
api_port="${MATYAN_DEV_API_PORT:-53800}"
METRICS_PORT="${MATYAN_DEV_INGEST_METRICS_PORT:-9101}" start_process ingest-worker "$UV" run --frozen matyan-backend ingest-worker
METRICS_PORT="${MATYAN_DEV_CONTROL_METRICS_PORT:-9102}" start_process control-worker "$UV" run --frozen matyan-backend control-worker
start_process api "$UV" run --frozen matyan-backend start --host 127.0.0.1 --port "$api_port" --ui && echo "run-local: UI on http://127.0.0.1:$api_port/"
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$api_port/health/live/" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$api_port/health/live/" >/dev/null 2>&1 || { echo "run-local: the API did not come up; see $RUN_DIR/api.log" >&2; tail -20 "$RUN_DIR/api.log" >&2; exit 1; }

cat <<INFO
run-local: up. Run directory: $RUN_DIR
  Matyan API: http://127.0.0.1:$api_port/api/v1/rest/  (health: /health/ready/, docs: /docs)
  Data (LMDB store and local blobs): $MATYAN_DATA_DIR
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
