#!/usr/bin/env bash
# Issuer replicas (BENCHMARKS.md, "Issuer replicas on PostgreSQL"): the OpenID4VCI flow of N
# staff (token → nonce → worker ID → nonce → gate pass, issuer-cli/examples/vci_load.rs) against
# one `govid-issuer serve` on SQLite, one on PostgreSQL, and two replicas on one PostgreSQL, in
# one run on this machine (fresh issuer and database for each). Prints credentials/s and p99.
#   bench/vci/replicas.sh [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-10000}"
C="${2:-64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/govid-target}"
cargo build --release --locked -p govid-issuer --bin govid-issuer --example vci_load
BIN="$CARGO_TARGET_DIR/release/govid-issuer"
LOAD="$CARGO_TARGET_DIR/release/examples/vci_load"

WORK=$(mktemp -d)
PG=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done; scripts/pg-test-cluster destroy "$PG"; rm -rf "$WORK"' EXIT
CLUSTER=$(scripts/pg-test-cluster start "$PG")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run NAME ENGINE REPLICAS
run() {
  local name=$1 engine=$2 replicas=$3 dir="$WORK/$1" ports=() connect="" pids=()
  if [ "$engine" = postgres ]; then
    psql -qAt "$CLUSTER" -c "CREATE DATABASE bench_$name"
    export GOVID_ISSUER_DB="${CLUSTER%/postgres\?*}/bench_$name?sslmode=disable"
  else
    unset GOVID_ISSUER_DB
  fi
  for _ in $(seq "$replicas"); do ports+=("$(free_port)"); done
  local public="http://127.0.0.1:${ports[0]}"
  "$BIN" --dir "$dir" init --name "Benchmark HR Office" --did-web hr.bench.example >/dev/null
  "$BIN" --dir "$dir" dev synth --count "$N" --out "$WORK/$name.csv" >/dev/null
  "$BIN" --dir "$dir" staff import "$WORK/$name.csv" >/dev/null
  "$BIN" --dir "$dir" offer --all --public-url "$public" --codes-file "$WORK/$name-codes.csv" >/dev/null
  for i in "${!ports[@]}"; do
    "$BIN" --dir "$dir" serve --listen "127.0.0.1:${ports[$i]}" --public-url "$public" \
      >"$WORK/$name-$i.out" 2>&1 &
    pids+=($!); PIDS="$PIDS $!"
    connect="$connect${connect:+,}127.0.0.1:${ports[$i]}"
  done
  for i in "${!ports[@]}"; do
    for _ in $(seq 100); do grep -q listening "$WORK/$name-$i.out" && break; sleep 0.1; done
  done
  "$LOAD" --url "$public" --connect "$connect" --codes "$WORK/$name-codes.csv" --concurrency "$C" \
    --jwks "$dir/public/jwks.json" >"$WORK/$name.load"
  for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  python3 - "$name" "$(tail -n 1 "$WORK/$name.load")" <<'EOF'
import json, sys
s = json.loads(sys.argv[2])
assert s["failed"] == 0 and s["verified"] == s["credentials"], s
print(f"{sys.argv[1]:<16} {s['credentials']:>6} credentials  {s['credentials_per_second']:>6.0f}/s  p99 {s['p99_ms']:>6.1f} ms")
EOF
}

echo "N=$N people (2 credentials each), concurrency $C, $(nproc) cores"
run sqlite_one sqlite 1
run postgres_one postgres 1
run postgres_two postgres 2
