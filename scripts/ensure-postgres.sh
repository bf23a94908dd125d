#!/usr/bin/env bash
# Make sure the PostgreSQL server the test suite uses is up; start the local cluster if it is not.
set -uo pipefail
host=${PGHOST_FOR_TESTS:-127.0.0.1}
if pg_isready -h "$host" -p 5432 -q 2>/dev/null; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  echo "PostgreSQL is down; starting the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 30); do
    pg_isready -h "$host" -p 5432 -q 2>/dev/null && exit 0
    sleep 1
  done
fi
echo "PostgreSQL is not reachable at $host:5432"
if [ "${CI:-}" = "true" ]; then
  exit 1
fi
echo "(outside CI the PostgreSQL half of the suite will be skipped)"
