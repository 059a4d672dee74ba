#!/usr/bin/env bash
# Cross-builds libgovid_ffi.so for Android into src/main/jniLibs/<abi>/.
# Needs the Android NDK (ANDROID_NDK_HOME), cargo-ndk (cargo install cargo-ndk) and the Rust
# targets (rustup target add aarch64-linux-android x86_64-linux-android). OpenSSL (for the
# encrypted OpenID4VP answers) is built from source for each target: `vendored-openssl`, which
# needs perl and make.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
cargo ndk -t arm64-v8a -t x86_64 --platform 26 -o "$here/src/main/jniLibs" \
    build --locked --release -p govid-ffi --lib --features vendored-openssl
