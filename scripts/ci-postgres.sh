#!/usr/bin/env bash
# Provides the PostgreSQL the postgres-* tests run against and prints its URL on stdout (the log
# goes to stderr). Order: AXP_TEST_PG_URL if set; else a server already answering on
# 127.0.0.1:5432; else Debian's postgresql package, installed and started here (as root).
# The URL's role may create databases: every test file works in a database of its own.
set -euo pipefail
log() { echo "ci-postgres: $*" >&2; }

ROLE=axp
DB=axp
URL="postgres://${ROLE}@127.0.0.1:5432/${DB}"

if [ -n "${AXP_TEST_PG_URL:-}" ]; then
  log "using AXP_TEST_PG_URL"
  echo "$AXP_TEST_PG_URL"
  exit 0
fi

answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else bash -c "$1"; fi; }

if ! answers; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >/dev/null
  fi
  VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^${VERSION} main$"; then
    log "creating cluster ${VERSION}/main"
    pg_createcluster "$VERSION" main >&2
  fi
  CONF="/etc/postgresql/${VERSION}/main"
  # Trust on loopback only (a throwaway CI database), more connections for multi-process tests.
  if ! grep -q '^# axp-test' "$CONF/pg_hba.conf"; then
    { echo '# axp-test: trust on loopback'; echo 'host all all 127.0.0.1/32 trust'; echo 'host all all ::1/128 trust'; cat "$CONF/pg_hba.conf"; } > "$CONF/pg_hba.conf.new"
    mv "$CONF/pg_hba.conf.new" "$CONF/pg_hba.conf"
    chown postgres:postgres "$CONF/pg_hba.conf"
  fi
  mkdir -p "$CONF/conf.d"
  printf "listen_addresses = '127.0.0.1'\nport = 5432\nmax_connections = 400\nfsync = off\nsynchronous_commit = off\n" > "$CONF/conf.d/axp-test.conf"
  log "starting cluster ${VERSION}/main"
  pg_ctlcluster "$VERSION" main start >&2 || pg_ctlcluster "$VERSION" main restart >&2
  for _ in $(seq 1 50); do answers && break; sleep 0.2; done
fi
answers || { log "nothing answers on 127.0.0.1:5432"; exit 1; }

# The test role and database (idempotent). Loopback must accept the postgres superuser here;
# when it does not, set AXP_TEST_PG_URL to a role that may create databases.
PSQL="psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt"
if ! as_postgres "$PSQL -c 'select 1'" >/dev/null 2>&1; then
  log "cannot connect as postgres on 127.0.0.1:5432; set AXP_TEST_PG_URL"
  exit 1
fi
as_postgres "$PSQL -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE} LOGIN CREATEDB; END IF; END \\\$\\\$\"" >&2
if [ -z "$(as_postgres "$PSQL -c \"SELECT 1 FROM pg_database WHERE datname = '${DB}'\"")" ]; then
  as_postgres "$PSQL -c 'CREATE DATABASE ${DB} OWNER ${ROLE}'" >&2
fi
log "ready: $URL"
echo "$URL"
