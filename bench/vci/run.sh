#!/usr/bin/env bash
# The OpenID4VCI credential endpoint benchmark (BENCHMARKS.md, "OpenID4VCI credential endpoint"):
# a synthetic roster of N staff, an offer for each (`offer --all`), `govid-issuer serve` (release),
# and the load generator issuer-cli/examples/vci_load.rs on the same machine running each
# person's token → nonce → credential ×2 flow with DPoP.
#   bench/vci/run.sh [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-10000}"
C="${2:-64}"
PORT="${PORT:-8470}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/govid-target}"
cargo build --release --locked -p govid-issuer --bin govid-issuer --example vci_load
BIN="$CARGO_TARGET_DIR/release/govid-issuer"
LOAD="$CARGO_TARGET_DIR/release/examples/vci_load"
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DIR="$WORK/issuer"
URL="http://127.0.0.1:$PORT"
"$BIN" --dir "$DIR" init --name "Benchmark HR Office" --did-web hr.bench.example >/dev/null
"$BIN" --dir "$DIR" dev synth --count "$N" --out "$WORK/roster.csv" >/dev/null
"$BIN" --dir "$DIR" staff import "$WORK/roster.csv" >/dev/null
"$BIN" --dir "$DIR" offer --all --public-url "$URL" --codes-file "$WORK/codes.csv" >/dev/null
"$BIN" --dir "$DIR" serve --listen "127.0.0.1:$PORT" --public-url "$URL" >"$WORK/serve.out" &
SERVER=$!
for _ in $(seq 50); do grep -q listening "$WORK/serve.out" && break; sleep 0.1; done
"$LOAD" --url "$URL" --codes "$WORK/codes.csv" --concurrency "$C" --server-pid "$SERVER"
"$BIN" --dir "$DIR" audit verify >/dev/null && echo "audit verify: ok"
