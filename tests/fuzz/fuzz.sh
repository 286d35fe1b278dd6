#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis, as each
# role, each on a fresh database with the demo accounts.
#
#   tests/fuzz/fuzz.sh [sqlite|postgres] [max-examples] [roles...]
#
# Defaults: sqlite, 30 examples per operation, every role (admin office
# inspector enterprise). PostgreSQL is reached at $ANJIAN_FUZZ_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). Fails on any 5xx,
# any conformance failure and any schema error; prints one summary line per run.
set -euo pipefail
cd "$(dirname "$0")/../.."

backend="${1:-sqlite}"
examples="${2:-30}"
shift $(( $# > 2 ? 2 : $# )) || true
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(admin office inspector enterprise)
pg_admin="${ANJIAN_FUZZ_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
admin_password="fuzz-admin-password-2026"
demo_password="anjian-demo-2026"

command -v schemathesis >/dev/null 2>&1 || {
  echo "schemathesis is not installed: pip install schemathesis" >&2
  exit 1
}
# The binary the test build makes (same features as `cargo test --workspace`,
# so after the suites this builds nothing; `cargo build` alone would resolve
# features without the dev-dependencies and compile the tree a second time).
cargo test --quiet --workspace --no-run
bin="target/debug/anjian"
work="$(mktemp -d -t anjian-fuzz.XXXXXX)"
server_pid=""
database=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  if [ -n "$database" ]; then
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

status=0
for role in "${roles[@]}"; do
  case "$role" in
    admin) user=admin; password="$admin_password" ;;
    office) user=office; password="$demo_password" ;;
    inspector) user=inspector01; password="$demo_password" ;;
    enterprise) user=ent01; password="$demo_password" ;;
    *) echo "unknown role $role" >&2; exit 2 ;;
  esac
  dir="$work/$role"
  mkdir -p "$dir"
  port="$(free_port)"
  env_db=()
  if [ "$backend" = postgres ]; then
    database="anjian_fuzz_$(date +%s)_$role"
    psql "$pg_admin" -qc "CREATE DATABASE \"$database\"" >/dev/null
    env_db=("DATABASE_URL=${pg_admin%/*}/$database")
  fi
  env "${env_db[@]}" ANJIAN_DATA_DIR="$dir" ANJIAN_LISTEN="127.0.0.1:$port" \
    ANJIAN_ADMIN_PASSWORD="$admin_password" ANJIAN_LOG=warn ANJIAN_LOG_FORMAT=json \
    "$bin" serve --demo --no-history >"$dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  token="$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/auth/login" \
    -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  set +e
  schemathesis --config-file tests/fuzz/schemathesis.toml run \
    "http://127.0.0.1:$port/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --max-examples "$examples" --seed 20261130 --workers 2 \
    --report json --report-json-path "$dir/report.json" >"$dir/schemathesis.log" 2>&1
  rc=$?
  set -e
  set +e
  summary="$(python3 tests/fuzz/summary.py "$dir/report.json" "$dir/server.log")"
  bad=$?
  set -e
  echo "fuzz $backend $role: $summary"
  if [ $rc -ne 0 ] || [ $bad -ne 0 ]; then
    status=1
    echo "---- schemathesis ($role) ----"
    tail -n 200 "$dir/schemathesis.log"
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if [ -n "$database" ]; then
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null
    database=""
  fi
done
exit $status
