#!/usr/bin/env bash
# Peer benchmark of issue 3: `govid-verifier check --jsonl` against the Python reference library
# (PyPI `sd-jwt`) on the public SD-JWT spec vectors, replicated to COUNT lines.
# Not run by CI. Needs python3 (with venv) and hyperfine (Debian package `hyperfine`).
#
# Usage: bench/peer/run.sh            env: COUNT (3000), RUNS (10), VENV, OUT, CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNT="${COUNT:-3000}"
RUNS="${RUNS:-10}"
VENV="${VENV:-/tmp/govid-peer-venv}"
OUT="${OUT:-/tmp/govid-peer}"
SDJWT_VERSION=0.10.4
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/govid-target}"

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
if ! "$VENV/bin/python" -c "import sd_jwt" 2>/dev/null; then
  echo "== venv $VENV with sd-jwt==$SDJWT_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "sd-jwt==$SDJWT_VERSION"
fi
PY="$VENV/bin/python"

echo "== cargo build --release -p govid-verifier"
cargo build --release -q -p govid-verifier
BIN="$CARGO_TARGET_DIR/release/govid-verifier"

mkdir -p "$OUT"
python3 bench/peer/make_jsonl.py > "$OUT/vectors.jsonl"
python3 bench/peer/make_jsonl.py "$COUNT" > "$OUT/lines.jsonl"
: > "$OUT/empty.jsonl"

echo "== both accept every vector with the same processed payload"
"$BIN" check --jsonl < "$OUT/vectors.jsonl" > "$OUT/govid.out"
"$PY" bench/peer/verify_sdjwt_python.py "$OUT/vectors.jsonl" > "$OUT/python.out"
python3 - "$OUT/govid.out" "$OUT/python.out" <<'PY'
import json, sys
govid, python = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(govid) == len(python) > 0, "line counts differ"
for i, (g, p) in enumerate(zip(govid, python)):
    assert g["ok"] and p["ok"], f"line {i}: govid {g.get('error')}, python {p.get('error')}"
    assert g["payload"] == p["payload"], f"line {i}: payloads differ"
print(f"   {len(govid)} vectors: both accept, payloads equal")
PY

echo "== whole process, $COUNT presentations (and empty input: start-up only)"
hyperfine --warmup 2 --runs "$RUNS" --export-json "$OUT/hyperfine.json" \
  -n govid-verifier "$BIN check --jsonl < $OUT/lines.jsonl > /dev/null" \
  -n govid-verifier-empty "$BIN check --jsonl < $OUT/empty.jsonl > /dev/null" \
  -n sd-jwt-python "$PY bench/peer/verify_sdjwt_python.py --quiet $OUT/lines.jsonl" \
  -n sd-jwt-python-empty "$PY bench/peer/verify_sdjwt_python.py --quiet $OUT/empty.jsonl"

echo "== sd-jwt-python in process (interpreter start-up and imports excluded)"
"$PY" bench/peer/verify_sdjwt_python.py --per-item --quiet "$OUT/lines.jsonl"

echo "== per presentation: (median(COUNT lines) - median(empty)) / COUNT"
python3 - "$OUT/hyperfine.json" "$COUNT" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
count = int(sys.argv[2])
per = {}
for name in ("govid-verifier", "sd-jwt-python"):
    full, empty = results[name], results[name + "-empty"]
    wall = (full["median"] - empty["median"]) / count * 1e6
    cpu = (full["user"] + full["system"] - empty["user"] - empty["system"]) / count * 1e6
    per[name] = (wall, cpu)
    print(f"   {name:15} wall {wall:8.1f} µs   cpu (user+sys, means) {cpu:8.1f} µs"
          f"   start-up {empty['median'] * 1e3:.1f} ms")
g, p = per["govid-verifier"], per["sd-jwt-python"]
print(f"   sd-jwt-python / govid-verifier: wall {p[0] / g[0]:.2f}x, cpu {p[1] / g[1]:.2f}x"
      f"   (target: at least 4x)")
PY
