#!/usr/bin/env bash
# The binding tests: build the library, regenerate the bindings and check the committed Kotlin
# and Swift have not drifted, then run the Kotlin (JVM) and Python tests against the real .so.
#
# Installs nothing. Needs (the lead's .ci/run installs them):
#   - Java 17 (java, javac)                 apt-get install -y openjdk-17-jdk-headless
#   - JNA at /usr/share/java/jna.jar        apt-get install -y libjna-java   (or JNA_JAR=…)
#   - kotlinc from npm                      (cd mobile-bindings/kotlin && npm ci)
#   - Python 3 with pytest and cryptography pip install pytest cryptography
#   - strip (binutils)
#   - the openssl CLI                       (test_login.py makes its TLS certificate with it)
#   - node 20+ and npm                      (the OpenID4VCI tests run tests/interop/oid4vci/issuer.mjs;
#                                            `npm ci` there is run below when node_modules is missing)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target_dir=${CARGO_TARGET_DIR:-$root/target}
profile=${GOVID_PROFILE:-release}
profile_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
out=$target_dir/govid-bindings
jna=${JNA_JAR:-/usr/share/java/jna.jar}
kotlinc=$here/kotlin/node_modules/kotlin-compiler/bin/kotlinc

missing=()
command -v cargo >/dev/null || missing+=("cargo")
command -v java >/dev/null || missing+=("java (apt-get install -y openjdk-17-jdk-headless)")
command -v strip >/dev/null || missing+=("strip (apt-get install -y binutils)")
command -v openssl >/dev/null || missing+=("openssl (apt-get install -y openssl: the login tests' TLS certificate)")
command -v node >/dev/null || missing+=("node 20 or later (the OpenID4VCI tests run tests/interop/oid4vci/issuer.mjs)")
[ -f "$jna" ] || missing+=("$jna (apt-get install -y libjna-java, or set JNA_JAR)")
[ -x "$kotlinc" ] || missing+=("$kotlinc (cd mobile-bindings/kotlin && npm ci)")
python3 -c "import pytest, cryptography" 2>/dev/null ||
    missing+=("python3 with pytest and cryptography (pip install pytest cryptography)")
if [ ${#missing[@]} -gt 0 ]; then
    printf 'mobile-bindings/test.sh: missing tool: %s\n' "${missing[@]}" >&2
    exit 1
fi

"$here/build.sh"
# The documented one-command Python build (into the same place): the Python tests use its output.
"$here/build.sh" python

echo "== drift: committed Kotlin/Swift vs freshly generated"
drift=0
check_same() {
    if ! diff -q "$1" "$2" >/dev/null; then
        echo "DRIFT: $2 differs from the generated $1 (run mobile-bindings/build.sh --update)" >&2
        diff -u "$2" "$1" | head -40 >&2 || true
        drift=1
    fi
}
check_same "$out/kotlin/example/govid/wallet/govid_ffi.kt" "$here/android/src/main/java/example/govid/wallet/govid_ffi.kt"
check_same "$out/swift/GovidWallet.swift" "$here/ios/Sources/GovidWallet/GovidWallet.swift"
check_same "$out/swift/govid_ffiFFI.h" "$here/ios/Headers/govid_ffiFFI.h"
check_same "$out/swift/govid_ffiFFI.modulemap" "$here/ios/Headers/module.modulemap"
[ $drift -eq 0 ] || exit 1
echo "no drift"

cd "$root"
cargo build --locked --profile "$profile" -p govid-ffi --example test_issuer
cargo build --locked --profile "$profile" -p govid-verifier
export GOVID_TEST_ISSUER=$target_dir/$profile_dir/examples/test_issuer
export GOVID_VERIFIER=$target_dir/$profile_dir/govid-verifier

echo "== Kotlin (JVM, JNA) tests"
# The third-party OpenID4VCI issuer the Kotlin and Python receiveOffer tests run against (pinned
# by its lock file).
if [ ! -d "$root/tests/interop/oid4vci/node_modules" ]; then
    (cd "$root/tests/interop/oid4vci" && npm ci --no-audit --no-fund)
fi
export GOVID_WORK
GOVID_WORK=$(mktemp -d)
trap 'rm -rf "$GOVID_WORK"' EXIT
"$kotlinc" -nowarn -include-runtime -cp "$jna" -d "$out/kotlin-tests.jar" \
    "$out/kotlin/example/govid/wallet/govid_ffi.kt" "$here/kotlin/src/WalletTest.kt" \
    "$here/kotlin/src/ReceiveOfferTest.kt"
java -Djna.library.path="$out/lib" -cp "$out/kotlin-tests.jar:$jna" WalletTestKt

echo "== Python tests"
GOVID_PY_BINDINGS=$out/python python3 -m pytest -q -p no:cacheprovider "$here/python/tests"
