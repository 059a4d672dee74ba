#!/usr/bin/env bash
# Load and soak test of `govid-verifier serve` (BENCHMARKS.md, "Gate server").
#
#   [CONNS=32] [RATE=2000] [RATE_CONNS=8] [STAFF=2000] [SIGNATURE_CACHE=1] [STAFF_ALG=EdDSA] \
#     bash verifier-server/examples/load/gate_load.sh [SECONDS] [SOAK_SECONDS] [POOL]
#
# Builds release binaries, sets up the demo gate (offline trust bundle, gate log on, replay
# checks on, rate limit off: every request comes from 127.0.0.1, which the per-client limit
# would cap at 20/s) with STAFF valid credentials (a building's staff, each with its own holder
# key: Ed25519, or P-256 like phones' hardware keys with STAFF_ALG=ES256), makes POOL distinct
# fresh codes (90% valid, from the staff in turn; 9% revoked; 1% malformed), then in one run:
#   1. the raw in-process verify throughput on 2 threads (`gate_demo raw`: the median of 5
#      rounds over 20,000 codes);
#   2. wrk at saturation (-cCONNS) for SECONDS (default 30): wall rate, latency, and the
#      server's and wrk's CPU time per request;
#   3. wrk at a moderate fixed rate (about RATE/s over RATE_CONNS connections, each waiting
#      between requests) for SECONDS: latency without queueing at saturation;
#   4. a soak for SOAK_SECONDS (default 300; 0 skips it) recording the server's RSS;
#   5. the raw figure again.
# The gate remembers issuer signatures it verified (the default, `signature_cache_entries`), as
# after each worker's first entry of a day; SIGNATURE_CACHE=0 turns that off in the server and
# in the raw figure (`nomemo`), to measure a gate seeing every credential for the first time.
# The replay window is set to 900 s so the pool stays fresh for the whole run; a code sent a
# second time is denied `replayed` AFTER full verification (the replay check is the last step),
# so repeats cost what an allow costs. Traffic stays on 127.0.0.1.
#
# The machine may be shared: `uptime` is printed at each step, and the figures that do not
# depend on other tenants are per CPU-second (server decisions per server CPU-second, raw
# verifications per CPU-second) and their ratio. "Projected on 2 idle cores" divides 2
# CPU-seconds by the CPU time one request costs the server plus wrk, both measured here.
set -euo pipefail
secs="${1:-30}"; soak="${2:-300}"; pool="${3:-60000}"
conns="${CONNS:-32}"; rate="${RATE:-2000}"; rate_conns="${RATE_CONNS:-8}"
staff="${STAFF:-2000}"; memo=memo
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
port=18080
cd "$root"
cargo build --release -q -p govid-verifier --bin govid-verifier --example gate_demo
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/release/govid-verifier"; demo="$target/release/examples/gate_demo"
dir="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
GATE_DEMO_STAFF_ALG="${STAFF_ALG:-EdDSA}" "$demo" setup "$dir" "$port" "$staff" >/dev/null
sed -i 's/^profile = "entry"$/profile = "entry"\nreplay_window_secs = 900/' "$dir/gate.toml"
sed -i 's/^rate_limit_per_sec = 0$/rate_limit_per_sec = 0\nworkers = 2/' "$dir/gate.toml"
if [ "${SIGNATURE_CACHE:-1}" = 0 ]; then
  memo=nomemo
  sed -i 's/^workers = 2$/workers = 2\nsignature_cache_entries = 0/' "$dir/gate.toml"
fi
echo "== $staff staff (${STAFF_ALG:-EdDSA} holder keys); issuer signatures remembered: $memo"

echo "== pool: $pool codes"; "$demo" pool "$dir" "$pool" "$dir/pool.txt"
echo "== raw (before); $(uptime)"
raw_out=$("$demo" raw "$dir" 20000 2 "$memo"); echo "$raw_out"
raw_before=$(echo "$raw_out" | tail -1 | awk '{print $(NF-3)}')
"$bin" serve --config "$dir/gate.toml" --log-level warn > "$dir/out.txt" 2> "$dir/err.txt" &
server=$!
for _ in $(seq 100); do grep -q listening "$dir/out.txt" && break; sleep 0.1; done
url="http://127.0.0.1:$port"
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
# User + system CPU seconds of the server (clock ticks of 1/100 s), and its decision count.
cpu() { awk '{sub(/.*\) /, ""); print ($12 + $13) / 100}' "/proc/$server/stat"; }
count() { curl -s "$url/metrics" | awk '/^govid_verify_duration_seconds_count/ {print $2}'; }
TIMEFORMAT='%U %S'
# run_wrk NAME CONNS DELAY_MS SECONDS: wrk, then the server's and wrk's CPU per request.
run_wrk() {
  local c0 n0 c1 n1 wu ws
  echo "== $1: wrk -t1 -c$2 for $4 s (wait $3 ms between requests per connection); $(uptime)"
  c0=$(cpu); n0=$(count)
  { time WRK_DELAY_MS="$3" wrk -t1 -c"$2" -d"$4s" --latency -s "$here/verify.lua" \
      "$url/v1/verify" -- "$dir/pool.txt" > "$dir/wrk.txt"; } 2> "$dir/wrk.time"
  c1=$(cpu); n1=$(count)
  grep -E 'Requests/sec|Non-2xx|^requests:|^latency p' "$dir/wrk.txt"
  read -r wu ws < "$dir/wrk.time"
  awk -v c="$c0" -v C="$c1" -v n="$n0" -v N="$n1" -v wu="$wu" -v ws="$ws" -v raw="$raw_before" 'BEGIN {
    d = N - n; s = (C - c) / d; w = (wu + ws) / d
    printf "server: %d decisions in %.2f CPU-s = %.0f decisions per CPU-second (%.0f us each)\n", d, C - c, 1 / s, s * 1e6
    printf "wrk: %.2f CPU-s = %.1f us per request\n", wu + ws, w * 1e6
    printf "server / raw (before) per CPU-second: %.0f%%\n", 100 / s / raw
    printf "projected on 2 idle cores (server + wrk CPU per request): %.0f requests/s\n", 2 / (s + w) }'
}
run_wrk saturation "$conns" 0 "$secs"
run_wrk "moderate rate (~$rate/s)" "$rate_conns" $((rate_conns * 1000 / rate)) "$secs"
curl -s "$url/metrics" | grep -E '^govid_verifications_total|^govid_verify_duration_seconds_(count|sum)'
if [ "$soak" -gt 0 ]; then
  echo "== soak ${soak}s: RSS at start $(rss)"
  wrk -t1 -c"$conns" -d"${soak}s" --latency -s "$here/verify.lua" "$url/v1/verify" -- "$dir/pool.txt"
  echo "== soak: RSS at end $(rss)"
  curl -s "$url/metrics" | grep -E '^govid_verifications_total|^govid_replay_cache_entries'
fi
echo "== raw (after); $(uptime)"; "$demo" raw "$dir" 20000 2 "$memo"
kill -TERM "$server"; wait "$server" || true; server=""
echo "gate log rows: $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from entries').fetchone()[0])" "$dir/gate.db")"
