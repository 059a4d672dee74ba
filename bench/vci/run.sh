#!/usr/bin/env bash
# The OpenID4VCI credential endpoint benchmark (BENCHMARKS.md, "OpenID4VCI credential endpoint"):
# a synthetic roster of N staff, an offer for each (`offer --all`), `govid-issuer serve` (release),
# and the load generator issuer-cli/examples/vci_load.rs on the same machine running each
# person's token → nonce → credential ×2 flow with DPoP.
#   bench/vci/run.sh [N] [CONCURRENCY]
# BIN=… LOAD=… run given builds instead (e.g. an older commit's, for a before/after in one
# sitting). Prints the server's CPU time per thread (the writer's, the async workers') at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-10000}"
C="${2:-64}"
PORT="${PORT:-8470}"
if [ -z "${BIN:-}" ] || [ -z "${LOAD:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/govid-target}"
  cargo build --release --locked -p govid-issuer --bin govid-issuer --example vci_load
  BIN="$CARGO_TARGET_DIR/release/govid-issuer"
  LOAD="$CARGO_TARGET_DIR/release/examples/vci_load"
fi
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
# CPU seconds per server thread name (utime + stime, fields 14 and 15 of stat).
for t in /proc/"$SERVER"/task/*; do
  sed 's/^[0-9]* (\(.*\)) /\1\t/' "$t/stat" | awk -F'\t' '{split($2, f, " "); print $1 "\t" (f[12] + f[13]) / 100}'
done | awk -F'\t' '{cpu[$1] += $2} END {for (n in cpu) printf "server thread %s: %.2f s CPU\n", n, cpu[n]}'
# A graceful stop: the service reports how many request steps it recorded in how many transactions.
kill -TERM "$SERVER"
wait "$SERVER" || true
SERVER=
echo "server: $(tail -n 1 "$WORK/serve.out")"
"$BIN" --dir "$DIR" audit verify >/dev/null && echo "audit verify: ok"
