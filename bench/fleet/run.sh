#!/usr/bin/env bash
# The fleet benchmark (BENCHMARKS.md, "Gate fleet on PostgreSQL"): in one run on this machine,
#   1. one gate on SQLite (its own gate log and replay keys), wrk at saturation and at a
#      moderate rate;
#   2. three gates sharing one PostgreSQL (`[store] url`: the fleet's replay cache and gate log,
#      each gate's local spool), the same load spread over them, at saturation and at the same
#      moderate rate in all.
# The demo gate's setup (gate_demo: an offline trust bundle, STAFF staff with their own holder
# keys, a pool of fresh codes: 90% valid, 9% revoked, 1% malformed), replay window 900 s so the
# pool stays fresh, rate limit off (everything comes from 127.0.0.1). PostgreSQL is the
# throwaway cluster of scripts/pg-test-cluster (fsync off, as in the tests: the gates' own
# spool and SQLite log commit with fsync). Everything shares the 2 cores: the figures to compare
# are the totals in one run, and the servers' CPU per decision.
#   [STAFF=2000] [CONNS=30] [RATE=1500] [SINGLE_COMMIT=1] bash bench/fleet/run.sh [SECONDS] [POOL]
set -euo pipefail
secs="${1:-20}"; pool="${2:-60000}"
staff="${STAFF:-2000}"; conns="${CONNS:-30}"; rate="${RATE:-1500}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/govid-target}"
cargo build --release --locked -q -p govid-verifier --bin govid-verifier --example gate_demo
bin="$CARGO_TARGET_DIR/release/govid-verifier"; demo="$CARGO_TARGET_DIR/release/examples/gate_demo"
lua="$root/verifier-server/examples/load/verify.lua"
command -v wrk >/dev/null || { echo "bench/fleet/run.sh: missing tool: wrk (apt-get install -y wrk)" >&2; exit 1; }
dir="$(mktemp -d)"; chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/pg-test-cluster destroy "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"$demo" setup "$dir" 18180 "$staff" >/dev/null
sed -i 's/^profile = "entry"$/profile = "entry"\nreplay_window_secs = 900/' "$dir/gate.toml"
"$demo" pool "$dir" "$pool" "$dir/pool.txt" >/dev/null
# SINGLE_COMMIT=1: the single gate also commits each entry before answering (as a fleet gate's
# spool does), to tell that cost from the fleet's.
if [ "${SINGLE_COMMIT:-0}" = 1 ]; then
  sed -i 's/^db = "gate.db"$/db = "gate.db"\ncommit_before_response = true/' "$dir/gate.toml"
fi
split -n l/3 -d "$dir/pool.txt" "$dir/pool."

# cpu PID: user + system CPU seconds.
cpu() { awk '{sub(/.*\) /, ""); print ($12 + $13) / 100}' "/proc/$1/stat"; }
start_gate() { # CONFIG PORT: starts a gate, waits until it listens, echoes its pid
  "$bin" serve --config "$1" --log-level warn > "$1.out" 2> "$1.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$1.out" && break; sleep 0.1; done
  grep -q listening "$1.out" || { echo "gate $1 did not start: $(cat "$1.err")" >&2; exit 1; }
  echo "$pid"
}
# load NAME DELAY_MS CONNS_EACH URL:POOL...: wrk on each gate at once; totals.
load() {
  local name=$1 delay=$2 each=$3; shift 3
  local outs=() wrks=() i=0
  for target in "$@"; do
    WRK_DELAY_MS="$delay" wrk -t1 -c"$each" -d"${secs}s" --latency -s "$lua" \
      "${target%%|*}/v1/verify" -- "${target##*|}" > "$dir/wrk.$name.$i" &
    wrks+=("$!"); outs+=("$dir/wrk.$name.$i"); i=$((i + 1))
  done
  wait "${wrks[@]}"
  python3 - "$name" "${outs[@]}" <<'PY'
import re, sys
name, files = sys.argv[1], sys.argv[2:]
total = 0.0; p99 = 0.0; non2xx = 0
for f in files:
    t = open(f).read()
    total += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"latency p99:?\s+([\d.]+)\s*(ms|us|s)", t) or re.search(r"99%\s+([\d.]+)(ms|us|s)", t)
    v = float(m.group(1)) * {"ms": 1, "us": 1e-3, "s": 1e3}[m.group(2)]
    p99 = max(p99, v)
    n = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    non2xx += int(n.group(1)) if n else 0
print(f"{name}: {total:.0f} decisions/s in all, worst p99 {p99:.2f} ms, non-2xx {non2xx}")
PY
}

echo "== one gate on SQLite; $(uptime)"
g1=$(start_gate "$dir/gate.toml"); pids+=("$g1")
c0=$(cpu "$g1")
load single-saturation 0 "$conns" "http://127.0.0.1:18180|$dir/pool.txt"
c1=$(cpu "$g1")
load single-moderate $((8 * 1000 / rate)) 8 "http://127.0.0.1:18180|$dir/pool.txt"
echo "single gate CPU during saturation: $(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", b - a}') s"
kill "$g1"; wait "$g1" 2>/dev/null || true; pids=()

echo "== three gates on one PostgreSQL; $(uptime)"
url=$(scripts/pg-test-cluster start "$dir/pg")
for i in 1 2 3; do
  port=$((18180 + i))
  sed -e "s/^id = \"demo-gate\"/id = \"fleet-gate-$i\"/" \
      -e "s/^listen = .*/listen = \"127.0.0.1:$port\"/" \
      -e 's/^\[log\]$/[log]\nsalt_file = "salt-'"$i"'"/' \
      -e '/^db = "gate.db"$/d' "$dir/gate.toml" > "$dir/fleet-$i.toml"
  printf '\n[store]\nurl = "%s"\nspool = "spool-%s.sqlite3"\n' "$url" "$i" >> "$dir/fleet-$i.toml"
  pids+=("$(start_gate "$dir/fleet-$i.toml")")
done
targets=()
for i in 1 2 3; do targets+=("http://127.0.0.1:$((18180 + i))|$dir/pool.0$((i - 1))"); done
f0=0; for p in "${pids[@]}"; do f0=$(awk -v a="$f0" -v b="$(cpu "$p")" 'BEGIN {print a + b}'); done
load fleet-saturation 0 $((conns / 3)) "${targets[@]}"
f1=0; for p in "${pids[@]}"; do f1=$(awk -v a="$f1" -v b="$(cpu "$p")" 'BEGIN {print a + b}'); done
load fleet-moderate $((8 * 3 * 1000 / rate)) 8 "${targets[@]}"
echo "fleet gates' CPU during saturation: $(awk -v a="$f0" -v b="$f1" 'BEGIN {printf "%.2f", b - a}') s"
psql_rows=$(runuser -u postgres -- psql -h 127.0.0.1 -p "$(echo "$url" | sed 's/.*:\([0-9]*\)\/.*/\1/')" -U postgres -Atc 'select count(*) from gate_log' postgres 2>/dev/null || echo "?")
echo "central gate log rows: $psql_rows"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
