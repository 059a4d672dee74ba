"""A first govid wallet in Python: a wallet with the library's SoftwareKeyStore trusts HR from
its published jwks.json, enrolls from HR's enrollment QR code, receives the worker ID HR issues
and shows a gate code.

    mobile-bindings/build.sh python
    PYTHONPATH=target/govid-bindings/python python3 mobile-bindings/python/examples/first_wallet.py \\
        WALLET_DIR JWKS_FILE 'GVE1:<code>:<issuer DID>'

It prints the key proof for HR (save it as proof.jwt; HR runs `govid-issuer enroll --proof
proof.jwt` and `govid-issuer issue EMPLOYEE_NUMBER`), reads the path of the worker ID file HR
wrote (`credentials/<N>.sd-jwt`) from standard input, and prints the gate code to show as a QR
code. The app fetches jwks.json from https://<HR's host>/.well-known/jwks.json itself: the
library does no networking.
"""

import sys

import govid_ffi as g

GATE = "https://gate-1.hq.example"  # the gate's audience (`aud`), from its configuration


def first_wallet(directory, passphrase, jwks, offer, ask_hr):
    """Runs the five steps; `ask_hr(key_proof)` returns the credential HR issued for it."""
    keys = g.SoftwareKeyStore.open(f"{directory}/keys", passphrase)
    wallet = g.Wallet.open(f"{directory}/wallet", keys.as_key_store())
    request = wallet.enroll_from_offer(offer, g.KeyAlgorithm.ES256)
    wallet.trust_issuer_jwks(jwks, request.issuer_id)
    credential = wallet.accept_credential(ask_hr(request.key_proof))
    print(f"{credential.given_name} {credential.family_name}, {credential.organization_name}",
          file=sys.stderr)
    return wallet.present_rotating(credential.id, GATE, g.GateProfileKind.ENTRY)


def main(directory, jwks_file, offer):
    def ask_hr(key_proof):
        print(key_proof, flush=True)
        print("path of the worker ID file HR issued:", file=sys.stderr, flush=True)
        with open(sys.stdin.readline().strip(), encoding="utf-8") as f:
            return f.read()

    with open(jwks_file, encoding="utf-8") as f:
        jwks = f.read()
    gate_code = first_wallet(directory, "a passphrase the user chose", jwks, offer, ask_hr)
    print(gate_code.payload)  # show as a QR code; call again after refresh_after_seconds


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
