#!/usr/bin/env bash
# Load and soak test of `govid-verifier serve` (BENCHMARKS.md, "Gate server (issue 7)").
#
#   [CONNS=32] bash verifier-server/examples/load/gate_load.sh [SECONDS] [SOAK_SECONDS] [POOL]
#
# Builds release binaries, sets up the demo gate (offline trust bundle, gate log on, replay
# checks on), makes POOL distinct fresh codes (90% valid, 9% revoked, 1% malformed), measures the
# raw in-process verify throughput on 2 threads, then runs wrk against the server for SECONDS
# (default 30) and a soak for SOAK_SECONDS (default 300) recording the server's RSS, then the raw
# figure again. The replay window is set to 900 s so the pool stays fresh for the whole run; a
# code sent a second time is denied `replayed` AFTER full verification (the replay check is the
# last step), so repeats cost what an allow costs. Traffic stays on 127.0.0.1.
set -euo pipefail
secs="${1:-30}"; soak="${2:-300}"; pool="${3:-60000}"; conns="${CONNS:-32}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
port=18080
cd "$root"
cargo build --release -q -p govid-verifier --bin govid-verifier --example gate_demo
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/release/govid-verifier"; demo="$target/release/examples/gate_demo"
dir="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$demo" setup "$dir" "$port" >/dev/null
sed -i 's/^profile = "entry"$/profile = "entry"\nreplay_window_secs = 900/' "$dir/gate.toml"
sed -i 's/^rate_limit_per_sec = 0$/rate_limit_per_sec = 0\nworkers = 2/' "$dir/gate.toml"
echo "== pool: $pool codes"; "$demo" pool "$dir" "$pool" "$dir/pool.txt"
echo "== raw (before)"; "$demo" raw "$dir" 20000 2
"$bin" serve --config "$dir/gate.toml" --log-level warn > "$dir/out.txt" 2> "$dir/err.txt" &
server=$!
for _ in $(seq 100); do grep -q listening "$dir/out.txt" && break; sleep 0.1; done
url="http://127.0.0.1:$port"
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
# The server's user+system CPU seconds (clock ticks of 1/100 s), and its decision count: requests
# per CPU-second does not depend on what else runs on the machine.
cpu() { awk '{sub(/.*\) /, ""); print ($12 + $13) / 100}' "/proc/$server/stat"; }
count() { curl -s "$url/metrics" | awk '/^govid_verify_duration_seconds_count/ {print $2}'; }
echo "== wrk ${secs}s (RSS at start: $(rss))"
c0=$(cpu); n0=$(count)
wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$here/verify.lua" "$url/v1/verify" -- "$dir/pool.txt"
c1=$(cpu); n1=$(count)
awk -v c="$c0" -v C="$c1" -v n="$n0" -v N="$n1" 'BEGIN {
  printf "server: %d decisions in %.2f CPU-s = %.0f decisions per CPU-second\n", N - n, C - c, (N - n) / (C - c) }'
curl -s "$url/metrics" | grep -E '^govid_verifications_total|^govid_verify_duration_seconds_(count|sum)'
if [ "$soak" -gt 0 ]; then
  echo "== soak ${soak}s: RSS at start $(rss)"
  wrk -t1 -c"$conns" -d"${soak}s" --latency -s "$here/verify.lua" "$url/v1/verify" -- "$dir/pool.txt"
  echo "== soak: RSS at end $(rss)"
  curl -s "$url/metrics" | grep -E '^govid_verifications_total|^govid_replay_cache_entries'
fi
echo "== raw (after)"; "$demo" raw "$dir" 20000 2
kill -TERM "$server"; wait "$server" || true
echo "gate log rows: $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from entries').fetchone()[0])" "$dir/gate.db")"
