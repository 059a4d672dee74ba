#!/usr/bin/env bash
# Builds libgovid_ffi for this machine and generates the Kotlin, Swift and Python bindings from it
# (uniffi-bindgen library mode).
#
#   mobile-bindings/build.sh [--update]
#   mobile-bindings/build.sh python [DIR]
#
# `python` builds the library and generates only the Python module, into DIR (default
# $CARGO_TARGET_DIR/govid-bindings/python, i.e. target/govid-bindings/python): govid_ffi.py with
# libgovid_ffi.so beside it, where the module loads it from. Put DIR on PYTHONPATH.
#
# Output in $CARGO_TARGET_DIR/govid-bindings (default target/govid-bindings):
#   lib/libgovid_ffi.so        the cdylib (stripped copy: lib/libgovid_ffi.stripped.so)
#   kotlin/example/govid/wallet/govid_ffi.kt
#   swift/GovidWallet.swift, swift/govid_ffiFFI.h, swift/govid_ffiFFI.modulemap
#   python/govid_ffi.py (+ libgovid_ffi.so beside it, which is where the module loads it from)
#
# --update copies the generated Kotlin and Swift into the committed Android and Swift package
# layouts (android/, ios/). test.sh regenerates and diffs them, so commit after --update.
#
# GOVID_PROFILE selects the cargo profile (default release).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target_dir=${CARGO_TARGET_DIR:-$root/target}
profile=${GOVID_PROFILE:-release}
profile_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
out=$target_dir/govid-bindings
mode=all
case "${1:-}" in
    "" | --update) ;;
    python)
        mode=python
        py_out=${2:-$out/python}
        ;;
    *)
        echo "usage: mobile-bindings/build.sh [--update] | python [DIR]" >&2
        exit 2
        ;;
esac

cd "$root"
cargo build --locked --profile "$profile" -p govid-ffi --lib
# uniffi-bindgen is a build tool: a dev build compiles faster and runs fast enough.
cargo build --locked -p govid-mobile-bindings --bin uniffi-bindgen

lib=$target_dir/$profile_dir/libgovid_ffi.so
bindgen=$target_dir/debug/uniffi-bindgen

if [ "$mode" = python ]; then
    mkdir -p "$py_out"
    "$bindgen" generate --no-format --library "$lib" --language python --out-dir "$py_out" >/dev/null
    cp "$lib" "$py_out/"
    echo "Python module in $py_out (govid_ffi.py, libgovid_ffi.so): PYTHONPATH=$py_out python3 -c 'import govid_ffi'"
    exit 0
fi

rm -rf "$out"
mkdir -p "$out/lib"
cp "$lib" "$out/lib/"
strip -o "$out/lib/libgovid_ffi.stripped.so" "$lib"

for language in kotlin swift python; do
    # --no-format: ktlint/swift-format are not installed here; unformatted output is also what
    # keeps the committed copies byte-for-byte reproducible.
    "$bindgen" generate --no-format --library "$lib" --language "$language" --out-dir "$out/$language" >/dev/null
done
cp "$lib" "$out/python/"

if [ "${1:-}" = "--update" ]; then
    kt_dir=$here/android/src/main/java/example/govid/wallet
    mkdir -p "$kt_dir" "$here/ios/Sources/GovidWallet" "$here/ios/Headers"
    cp "$out/kotlin/example/govid/wallet/govid_ffi.kt" "$kt_dir/"
    cp "$out/swift/GovidWallet.swift" "$here/ios/Sources/GovidWallet/"
    cp "$out/swift/govid_ffiFFI.h" "$here/ios/Headers/"
    cp "$out/swift/govid_ffiFFI.modulemap" "$here/ios/Headers/module.modulemap"
    echo "updated android/ and ios/ from $out"
fi
echo "bindings in $out"
