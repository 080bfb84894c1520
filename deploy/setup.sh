#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtualenv with labelwise installed, Redis (and, for the
# test suite, PostgreSQL) answering. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

redis_up() { .venv/bin/python -c "import redis,sys; redis.Redis(socket_connect_timeout=1).ping()" 2>/dev/null; }
if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "setup: installing redis-server" >&2
    (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null
  fi
  echo "setup: starting redis-server" >&2
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --maxmemory-policy noeviction --dir /tmp --logfile /tmp/labelwise-redis.log
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "setup: Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }
fi
# Redis only delivers, but it must never drop a queued job to make room.
.venv/bin/python -c "import redis; redis.Redis().config_set('maxmemory-policy', 'noeviction')" \
  2>/dev/null || echo "setup: could not set Redis maxmemory-policy=noeviction; set it yourself" >&2

pg_up() { .venv/bin/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=test connect_timeout=2').close()" 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  echo "setup: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 50); do pg_up && break; sleep 0.2; done
fi
pg_up || echo "setup: PostgreSQL is not answering on 127.0.0.1:5432 (the test suite needs it)" >&2
echo "setup: done"
