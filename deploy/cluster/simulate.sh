#!/usr/bin/env bash
# A multi-host labelwise run on this machine: hosts are Linux network namespaces on one bridge.
# Builds them, runs Redis, PostgreSQL, the fake LLM, the API and workers across them, measures
# one host against K hosts, breaks things mid-run, and prints ONE JSON line last.
#
#   sudo deploy/cluster/simulate.sh [--items N] [--worker-hosts K] [--help for the rest]
#   sudo deploy/cluster/simulate.sh --keep-logs    # keep the logs of a run that went well too
#   sudo deploy/cluster/simulate.sh --cleanup      # remove what an aborted run left behind
#
# Exit status: 0 when nothing was lost and no item has two final labels, 1 when something was,
# 2 when the machine cannot run it. Everything it made is removed on exit, also on Ctrl-C; the
# logs are kept (and named) when the run fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${LABELWISE_PYTHON:-$REPO/.venv/bin/python}"
PG_BIN=/usr/lib/postgresql/15/bin

PREFIX=lw
SUBNET=10.77.0
CLEANUP_ONLY=0
KEEP_LOGS=0
args=("$@")
passed=()
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --keep-logs) KEEP_LOGS=1 && continue ;;
    --cleanup) CLEANUP_ONLY=1 && continue ;;
  esac
  passed+=("${args[$i]}")
  case "${args[$i]}" in
    --prefix) PREFIX="${args[$((i + 1))]:-}" ;;
    --prefix=*) PREFIX="${args[$i]#--prefix=}" ;;
    --subnet) SUBNET="${args[$((i + 1))]:-}" ;;
    --subnet=*) SUBNET="${args[$i]#--subnet=}" ;;
  esac
done

refuse() {
  echo "simulate: $*" >&2
  exit 2
}

[[ "$PREFIX" =~ ^[a-z][a-z0-9]{0,5}$ ]] || refuse "--prefix must be a lowercase letter and at most 5 letters or digits"

# Every namespace of this prefix, its processes killed, then the namespace and the bridge removed.
sweep() {
  local ns pids
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}-" || true); do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -n "$pids" ]] && kill -9 $pids 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  ip link delete "${PREFIX}-br" 2>/dev/null || true
}

[[ "$(id -u)" == 0 ]] || refuse "must run as root (it creates network namespaces and links)"
command -v ip >/dev/null || refuse "'ip' (iproute2) is missing"
command -v tc >/dev/null || refuse "'tc' (iproute2) is missing"

if [[ "$CLEANUP_ONLY" == 1 ]]; then
  sweep
  echo "simulate: removed namespaces ${PREFIX}-* and link ${PREFIX}-br" >&2
  exit 0
fi

command -v redis-server >/dev/null || refuse "redis-server is missing"
command -v setpriv >/dev/null || refuse "setpriv (util-linux) is missing"
[[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" ]] || refuse "PostgreSQL 15 binaries not found in $PG_BIN"
id postgres >/dev/null 2>&1 || refuse "no 'postgres' user to run PostgreSQL as"
id redis >/dev/null 2>&1 || refuse "no 'redis' user to run Redis as"
[[ -x "$PY" ]] || refuse "no Python at $PY (create the venv, or set LABELWISE_PYTHON)"
if ip netns list 2>/dev/null | awk '{print $1}' | grep -q "^${PREFIX}-"; then
  refuse "namespaces ${PREFIX}-* exist (another run, or an aborted one: $0 --cleanup)"
fi
if ip -4 -o addr show 2>/dev/null | grep -q " ${SUBNET//./\\.}\.[0-9]*/"; then
  refuse "$SUBNET.0/24 is already in use on this machine; pick another with --subnet"
fi

RUN_DIR="$(mktemp -d /tmp/lw-cluster-run.XXXXXX)"
LOG_DIR="$(mktemp -d /tmp/lw-cluster-logs.XXXXXX)"
chmod 755 "$RUN_DIR" # the postgres and redis users keep their data below it
status=2
child=""

finish() {
  trap - EXIT INT TERM
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  sweep
  rm -rf "$RUN_DIR"
  if [[ "$status" == 0 && "$KEEP_LOGS" == 0 ]]; then
    rm -rf "$LOG_DIR"
  elif [[ "$status" == 0 ]]; then
    echo "simulate: logs of every process are in $LOG_DIR" >&2
  else
    echo "simulate: failed (exit $status); logs of every process are in $LOG_DIR" >&2
  fi
  exit "$status"
}
interrupted() {
  status=130
  finish
}
trap finish EXIT
trap interrupted INT TERM

"$PY" "$HERE/simulate.py" --python "$PY" --run-dir "$RUN_DIR" --log-dir "$LOG_DIR" ${passed[@]+"${passed[@]}"} &
child=$!
set +e
wait "$child"
status=$?
set -e
child=""
finish
