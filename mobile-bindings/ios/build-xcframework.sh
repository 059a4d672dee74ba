#!/usr/bin/env bash
# Builds GovidFFI.xcframework (device + simulator static libraries with the C header and module
# map) for Package.swift. macOS with Xcode only; needs the Rust targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim
# OpenSSL (for the encrypted OpenID4VP answers) is built from source for each target
# (`vendored-openssl`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
cd "$root"
for target in aarch64-apple-ios aarch64-apple-ios-sim; do
    cargo build --locked --release -p govid-ffi --lib --features vendored-openssl --target "$target"
done
rm -rf "$here/GovidFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$target_dir/aarch64-apple-ios/release/libgovid_ffi.a" -headers "$here/Headers" \
    -library "$target_dir/aarch64-apple-ios-sim/release/libgovid_ffi.a" -headers "$here/Headers" \
    -output "$here/GovidFFI.xcframework"
