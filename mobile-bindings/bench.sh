#!/usr/bin/env bash
# FFI overhead: the same rotating-mode present call timed in Rust, through Kotlin (JVM + JNA)
# and through Python (ctypes), against the release libgovid_ffi. Run test.sh first (it builds
# the bindings, the Kotlin test jar and test_issuer).
#
#   mobile-bindings/bench.sh [N]      (default N = 2000 calls each)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target_dir=${CARGO_TARGET_DIR:-$root/target}
out=$target_dir/govid-bindings
jna=${JNA_JAR:-/usr/share/java/jna.jar}
n=${1:-2000}

cd "$root"
cargo build --locked --release -p govid-ffi --example present_bench --example test_issuer
export GOVID_TEST_ISSUER=$target_dir/release/examples/test_issuer
"$target_dir/release/examples/present_bench" "$n"

export GOVID_WORK
GOVID_WORK=$(mktemp -d)
trap 'rm -rf "$GOVID_WORK"' EXIT
java -Djna.library.path="$out/lib" -cp "$out/kotlin-tests.jar:$jna" WalletTestKt bench "$n"
GOVID_PY_BINDINGS=$out/python python3 "$here/python/bench_present.py" "$n"
