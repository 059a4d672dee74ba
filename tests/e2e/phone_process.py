"""A phone in its own process (conftest.show_with_clock_behind runs it under libfaketime, so the
wallet library reads a clock that is behind): opens an existing wallet and key store, trusts the
issuer's keys, accepts a credential file, and writes an entry code as a PNG rendered by the
wallet. Prints {"payload", "issued_at"} as JSON.

    GOVID_PY_BINDINGS=… python3 phone_process.py '{"keys", "wallet", "passphrase", "iss", "jwks",
                                                   "credential", "aud", "png"}'
"""

import json
import os
import sys

sys.path.insert(0, os.environ["GOVID_PY_BINDINGS"])
import govid_ffi as g  # noqa: E402  (the path is only known at run time)


def main():
    args = json.loads(sys.argv[1])
    key_store = g.SoftwareKeyStore.open(args["keys"], args["passphrase"])
    wallet = g.Wallet.open(args["wallet"], key_store.as_key_store())
    for jwk in args["jwks"]:
        wallet.trust_issuer(json.dumps(jwk), args["iss"])
    summary = wallet.accept_credential_file(args["credential"])
    presentation = wallet.present_rotating(summary.id, args["aud"], g.GateProfileKind.ENTRY)
    with open(args["png"], "wb") as f:
        f.write(g.qr_png(presentation.payload, 4, g.QrEcc.M))
    print(json.dumps({"payload": presentation.payload, "issued_at": presentation.issued_at}))


if __name__ == "__main__":
    main()
