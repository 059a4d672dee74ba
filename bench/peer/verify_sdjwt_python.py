#!/usr/bin/env python3
"""The peer side of the govid-verifier benchmark: verifies the same JSONL presentations with the
Python reference library of SD-JWT (PyPI `sd-jwt`, openwallet-foundation-labs/sd-jwt-python).

Reads `govid-verifier check --jsonl` input lines {"presentation", "issuer_public_jwk",
"verifier"} from stdin (or FILE) and writes one {"ok": true, "payload": …} or
{"ok": false, "error": …} line per input, like govid-verifier. Each presentation goes through
the library's verifier API, `SDJWTVerifier(presentation, cb_get_issuer_key, expected_aud,
expected_nonce)` then `get_verified_payload()`: issuer signature (jwcrypto), disclosure digests,
and — when the line's verifier requires key binding — the KB-JWT signature against `cnf.jwk`,
its `typ`, `aud`, `nonce` and `sd_hash`.

On stderr it reports the time spent in the loop (after the interpreter and the imports are up):
total, per presentation (mean), and with --per-item the median and 10th percentile of the
per-presentation times.

The library checks less than govid does (no `exp`/`nbf`/`iat`, no KB-JWT `iat` window, no
issuer `typ`, no SD-JWT VC rules): the comparison favours it.

Needs the library: see bench/peer/README.md (a venv under /tmp, `pip install sd-jwt==0.10.4`).
Usage: verify_sdjwt_python.py [--per-item] [--quiet] [FILE] < lines.jsonl > results.jsonl
"""

import argparse
import json
import sys
import time

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier


def verify_line(line: str) -> dict:
    """One input line to one result object, as govid-verifier check --jsonl does."""
    try:
        item = json.loads(line)
        issuer_key = JWK(**item["issuer_public_jwk"])
        verifier = item.get("verifier") or {}
        if verifier.get("require_key_binding"):
            aud = verifier["expected_aud"]
            nonce = verifier["expected_nonce"]
        else:
            aud = nonce = None
        checked = SDJWTVerifier(
            item["presentation"],
            lambda _iss, _header: issuer_key,
            expected_aud=aud,
            expected_nonce=nonce,
            serialization_format="compact",
        )
        return {"ok": True, "payload": checked.get_verified_payload()}
    except Exception as error:  # the library signals every refusal with an exception
        return {"ok": False, "error": type(error).__name__}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="JSONL input (default: stdin)")
    parser.add_argument(
        "--per-item", action="store_true", help="also report per-item median and p10"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not write result lines"
    )
    args = parser.parse_args()
    source = open(args.file, encoding="utf-8") if args.file else sys.stdin
    lines = [line for line in source.read().splitlines() if line.strip()]

    out = sys.stdout
    times = []
    ok = 0
    clock = time.perf_counter_ns
    start = clock()
    for line in lines:
        t0 = clock()
        result = verify_line(line)
        text = json.dumps(result, separators=(",", ":"))
        if args.per_item:
            times.append(clock() - t0)
        ok += result["ok"]
        if not args.quiet:
            out.write(text)
            out.write("\n")
    total = clock() - start
    out.flush()

    n = max(len(lines), 1)
    report = (
        f"sd-jwt-python: {len(lines)} presentations, {ok} accepted, "
        f"loop {total / 1e6:.1f} ms, mean {total / n / 1e3:.1f} µs per presentation"
    )
    if times:
        times.sort()
        median = times[len(times) // 2]
        p10 = times[len(times) // 10]
        report += f", median {median / 1e3:.1f} µs, p10 {p10 / 1e3:.1f} µs"
    print(report, file=sys.stderr)
    return 0 if ok == len(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
