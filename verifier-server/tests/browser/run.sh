#!/usr/bin/env bash
# Browser test of the gate's scanning page: headless Chromium with a fake camera, and the
# keyboard-wedge field, the three verdicts, layout at phone and tablet width, both languages, the
# gate health banner and the camera message outside a secure context. With UPDATE_SCREENSHOTS=1
# it rewrites docs/screenshots/gate-*.png (the README's pictures).
#
# Needs Debian's chromium (apt-get install -y chromium) and node/npm; installs playwright-core
# from package-lock.json (it never downloads a browser). Usage, from anywhere:
#   bash verifier-server/tests/browser/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "browser test: $chromium not found; install it with: apt-get install -y chromium" >&2
  exit 1
fi
cd "$root"
cargo build -q --locked -p govid-verifier --bin govid-verifier --example gate_demo
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
GOVID_VERIFIER="$target/debug/govid-verifier" \
GATE_DEMO="$target/debug/examples/gate_demo" \
CHROMIUM="$chromium" \
  node --test --test-concurrency=1 ./*.test.mjs
