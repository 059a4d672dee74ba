#!/usr/bin/env python3
"""The test phone: the govid wallet library (the real libgovid_ffi.so through its Python
bindings, GOVID_PY_BINDINGS or PYTHONPATH) answering a login QR code, as the app would after the
person scanned it and tapped "Share" (or "Decline").

  python3 phone.py enroll --wallet-dir D --offer URI --tx-code PIN --trust-jwks JWKS --issuer DID
      Trusts HR's keys (JWKS for credentials whose iss is DID) and receives the worker ID from the
      OpenID4VCI offer (govid-issuer serve). Prints {"credential_id", "employee_number", ...}.

  python3 phone.py --wallet-dir D --link 'openid4vp://?…' --ca CERT --consent yes|no
      Reads the login request (Wallet.read_presentation_request: the signed request object,
      checked against the verifier's did:web document), prints what the phone shows, then
      Wallet.respond with the first matching worker ID, or declines. Prints
      {"verifier_host", "claimed_name", "claims", "sent": "presentation"|"access_denied",
       "status", "redirect_uri", "error"}; exit 0 when the verifier answered 200.

HTTP goes through the app's HttpClient: urllib, no proxies, no redirects followed, TLS trusting
only CERT (--ca). The holder key lives in a SoftwareKeyStore in D/keys, the wallet in D/wallet:
the layout of the demo's phones, so `--wallet-dir govid-demo/phones/MOT-0001` logs in with the
phone ./demo enrolled. Exit 1: the login failed
(the JSON says why); 2: usage; 3: the wallet library has no OpenID4VP API (an older .so).
"""

import argparse
import inspect
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

bindings = os.environ.get("GOVID_PY_BINDINGS")
if bindings:
    sys.path.insert(0, bindings)
try:
    import govid_ffi as g
except ImportError as e:
    print(json.dumps({"error": "no_bindings", "description": f"cannot import govid_ffi ({e}): build the Python "
                      "bindings with `mobile-bindings/build.sh python` and set GOVID_PY_BINDINGS to their directory"}))
    sys.exit(3)

# The demo phones' key store passphrase (tests/src/bin/govid-demo/phone.rs), so that this script
# also opens a phone ./demo made (govid-demo/phones/MOT-0001). A real app keeps keys in the phone's
# secure hardware through its own KeyStore.
PASSPHRASE = "govid demo phone: not a secret"


class UrllibHttp(g.HttpClient):
    """The app's HTTP stack: urllib, no proxies, nothing followed, bodies capped; TLS trusting
    only `cafile` when given."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, cafile=None):
        handlers = [urllib.request.ProxyHandler({}), self._NoRedirect()]
        if cafile:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
        self.opener = urllib.request.build_opener(*handlers)

    def send(self, request):
        data = bytes(request.body) if request.method != "GET" else None
        req = urllib.request.Request(request.url, data=data, method=request.method)
        for h in request.headers:
            req.add_header(h.name, h.value)
        try:
            with self.opener.open(req, timeout=30) as r:
                status, headers, body = r.status, r.headers.items(), r.read(g.max_http_response_bytes() + 1)
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers.items(), e.read(g.max_http_response_bytes() + 1)
        except OSError as e:  # URLError, TLS failures, timeouts, refused connections
            raise g.HttpError.Network(str(e)) from e
        return g.HttpResponse(status=status, headers=[g.HttpHeader(name=k, value=v) for k, v in headers], body=body)


def open_wallet(directory):
    """The phone kept in `directory` (keys/ and wallet/, as the demo's phones), created on first use."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    try:
        keys = g.SoftwareKeyStore.open(os.path.join(directory, "keys"), PASSPHRASE)
        return g.Wallet.open(os.path.join(directory, "wallet"), keys.as_key_store())
    except (g.KeyStoreError, g.WalletError) as e:
        out({"error": type(e).__name__, "description": f"the phone in {directory}: {e}"}, 1)


def out(obj, code=0):
    print(json.dumps(obj))
    sys.exit(code)


def error(e):
    """A WalletError as {"error", "description"} (its variant name and message)."""
    return {"error": type(e).__name__, "description": str(e)}


def enroll(argv):
    p = argparse.ArgumentParser(prog="phone.py enroll")
    p.add_argument("--wallet-dir", required=True)
    p.add_argument("--offer", required=True, help="openid-credential-offer:// URI")
    p.add_argument("--tx-code", help="the PIN HR gave")
    p.add_argument("--trust-jwks", required=True, help="HR's JWK Set (public/jwks.json)")
    p.add_argument("--issuer", required=True, help="HR's DID, the credentials' iss")
    p.add_argument("--ca", help="PEM file: the only CA trusted for https")
    a = p.parse_args(argv)
    wallet = open_wallet(a.wallet_dir)
    try:
        with open(a.trust_jwks, encoding="utf-8") as f:
            wallet.trust_issuer_jwks(f.read(), a.issuer)
        got = wallet.receive_offer(a.offer, a.tx_code, UrllibHttp(a.ca))
    except g.WalletError as e:
        out(error(e), 1)
    worker = next((c for c in got.credentials if c.kind == g.CredentialKind.WORKER_ID), None)
    if worker is None:
        out({"error": "no_worker_id", "description": f"the offer gave {[str(c.kind) for c in got.credentials]}"}, 1)
    out({"credential_id": worker.id, "employee_number": worker.employee_number, "given_name": worker.given_name,
         "issuer": worker.issuer, "credentials": len(got.credentials)})


def login(argv):
    p = argparse.ArgumentParser(prog="phone.py")
    p.add_argument("--wallet-dir", required=True)
    p.add_argument("--link", required=True, help="what the QR code says: openid4vp://?client_id=…&request_uri=…")
    p.add_argument("--ca", help="PEM file: the only CA trusted for https (the login service's certificate)")
    p.add_argument("--consent", choices=["yes", "no"], default="yes")
    a = p.parse_args(argv)
    missing = [m for m in ("read_presentation_request", "respond") if not hasattr(g.Wallet, m)]
    if missing:
        out({"error": "wallet_api_missing", "description": f"this govid_ffi ({g.__file__}) has no Wallet.{' or '.join(missing)}: "
             "the OpenID4VP wallet API (readPresentationRequest/respond) is not in this build of the library"}, 3)
    wallet = open_wallet(a.wallet_dir)
    http = UrllibHttp(a.ca)
    try:
        request = wallet.read_presentation_request(a.link, http)
    except g.WalletError as e:
        out(error(e), 1)
    shown = {"verifier_host": request.verifier_host, "claimed_name": request.claimed_name,
             "claims": list(request.requested_claims)}
    consent = a.consent == "yes"
    match = next((c for c in request.credentials if c.kind == g.CredentialKind.WORKER_ID), None)
    if consent and match is None:
        out({**shown, "error": "no_matching_credential", "description": "no stored worker ID answers the request"}, 1)
    args = [request.request_id, match.credential_id if match else "", consent]
    if "http" in inspect.signature(wallet.respond).parameters:
        args.append(http)  # an API that takes the client again at respond
    try:
        answer = wallet.respond(*args)
    except g.WalletError as e:
        out({**shown, **error(e)}, 1)
    result = {**shown, "sent": "presentation" if answer.shared else "access_denied", "status": answer.status,
              "redirect_uri": answer.redirect_uri, "error": answer.error, "error_description": answer.error_description}
    out(result, 0 if answer.status == 200 else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "enroll":
        enroll(sys.argv[2:])
    else:
        login(sys.argv[1:])
