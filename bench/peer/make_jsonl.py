#!/usr/bin/env python3
"""Writes the public SD-JWT spec vectors as `govid-verifier check --jsonl` input.

One line per vector of testdata/vectors/sd-jwt/spec_examples.json, as
{"presentation", "issuer_public_jwk", "verifier"} (the vector's own verifier settings: now,
require_key_binding, expected_aud, expected_nonce, expected_typ), repeated round-robin until
COUNT lines are written. Standard library only.

Usage: make_jsonl.py [COUNT] > vectors.jsonl      (COUNT defaults to the number of vectors)
"""

import json
import pathlib
import sys

VECTORS = (
    pathlib.Path(__file__).resolve().parents[2]
    / "testdata/vectors/sd-jwt/spec_examples.json"
)


def main() -> int:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    count = int(sys.argv[1]) if len(sys.argv) > 1 else len(vectors)
    lines = [
        json.dumps(
            {
                "presentation": v["presentation"],
                "issuer_public_jwk": v["issuer_public_jwk"],
                "verifier": v["verifier"],
            },
            separators=(",", ":"),
        )
        for v in vectors
    ]
    out = sys.stdout
    for i in range(count):
        out.write(lines[i % len(lines)])
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
