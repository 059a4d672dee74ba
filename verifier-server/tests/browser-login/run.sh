#!/usr/bin/env bash
# Browser test of logging in with the worker ID: the sample intranet application
# (verifier-server/examples/intranet, openid-client) against `govid-verifier serve` with [login]
# in headless Chromium, the phone answering the QR code; see login.test.mjs. With
# UPDATE_SCREENSHOTS=1 it rewrites docs/screenshots/login-qr.png and login-done.png.
#
# The phone (LOGIN_PHONE): python (default), the govid wallet's Python bindings over the real .so
# (built here with `mobile-bindings/build.sh python` unless GOVID_PY_BINDINGS names them); or
# node, the third-party wallet tests/interop/oid4vp/wallet.mjs.
# Builds govid-verifier and govid-issuer unless GOVID_VERIFIER and GOVID_ISSUER name binaries.
# Needs Debian's chromium, zbarimg (zbar-tools), openssl, node 20+ and npm, python3; installs the
# npm packages from the lock files (never downloads a browser). Usage, from anywhere:
#   bash verifier-server/tests/browser-login/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
phone="${LOGIN_PHONE:-python}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "login browser test: $CHROMIUM not found: apt-get install -y chromium" >&2; exit 1; }
for tool in zbarimg:zbar-tools openssl:openssl node:nodejs npm:npm python3:python3; do
  command -v "${tool%%:*}" >/dev/null || { echo "login browser test: missing tool: ${tool%%:*} (apt-get install -y ${tool#*:})" >&2; exit 1; }
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "login browser test: needs Node.js 20 or later, found $(node --version)" >&2; exit 1; }

cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/govid-target}"
if [ -z "${GOVID_VERIFIER:-}" ] || [ -z "${GOVID_ISSUER:-}" ]; then
  cargo build -q --locked -p govid-verifier -p govid-issuer
  export GOVID_VERIFIER="${GOVID_VERIFIER:-$CARGO_TARGET_DIR/debug/govid-verifier}"
  export GOVID_ISSUER="${GOVID_ISSUER:-$CARGO_TARGET_DIR/debug/govid-issuer}"
fi
if [ "$phone" = python ] && [ -z "${GOVID_PY_BINDINGS:-}" ]; then
  GOVID_PROFILE="${GOVID_PROFILE:-dev}" mobile-bindings/build.sh python >/dev/null
  export GOVID_PY_BINDINGS="$CARGO_TARGET_DIR/govid-bindings/python"
fi

# npm ci where node_modules is missing or does not match its lock file: this test, the app, and
# for the node phone the OpenID4VCI and OpenID4VP harnesses (their wallets).
dirs=(verifier-server/tests/browser-login verifier-server/examples/intranet)
[ "$phone" = node ] && dirs+=(tests/interop/oid4vci tests/interop/oid4vp)
for dir in "${dirs[@]}"; do
  (
    cd "$dir"
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
      ! npm ls --all >/dev/null 2>&1; then
      npm ci --no-audit --no-fund --loglevel=error
    fi
  )
done

cd "$here"
LOGIN_PHONE="$phone" node --test --test-concurrency=1 ./login.test.mjs
