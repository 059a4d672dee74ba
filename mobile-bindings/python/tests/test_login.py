"""Logging in with the worker ID (OpenID4VP 1.0): `Wallet.read_presentation_request` and
`Wallet.respond` over the real .so, against `govid-verifier serve` with a `[login]` section over
real TLS on loopback. The certificate for `localhost` is made here with the `openssl` CLI and
trusted only by this test's `HttpClient` (an `ssl` context with it as the one CA).

The wallet holds a worker ID from test_issuer (HR); the verifier pins HR's key. test_issuer's
status list lives on a host nobody serves, so the verifier is told not to fetch status lists and
to allow an unknown status (status checks have their own tests in verifier-server)."""

import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import govid_ffi as g
from conftest import ISSUER_ID
from test_wallet import PyKeyStore, b64url, enrolled

from cryptography.hazmat.primitives.asymmetric import ec

NAME = "Ministry of Transport e-approval"
CLAIMS = ["given_name", "family_name", "organization/name", "position", "employee_number"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory):
    """A self-signed certificate for localhost (P-256), made with the openssl CLI."""
    cert, key = str(directory / "tls.crt"), str(directory / "tls.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


class TlsHttp(g.HttpClient):
    """The app's HTTP stack: urllib over TLS trusting only the test certificate, no proxies,
    bodies capped, nothing followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, cafile):
        context = ssl.create_default_context(cafile=cafile)
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context),
            self._NoRedirect())
        self.requests = []

    def send(self, request):
        self.requests.append(request)
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
        return g.HttpResponse(status=status, headers=[g.HttpHeader(name=k, value=v) for k, v in headers],
                              body=body)


def signing_jwk():
    key = ec.generate_private_key(ec.SECP256R1())
    n = key.private_numbers()
    return json.dumps({
        "kty": "EC", "crv": "P-256",
        "x": b64url(n.public_numbers.x.to_bytes(32, "big")),
        "y": b64url(n.public_numbers.y.to_bytes(32, "big")),
        "d": b64url(n.private_value.to_bytes(32, "big")),
    })


class Verifier:
    """`govid-verifier serve` with `[login]` on https://localhost:PORT, trusting HR's key."""

    def __init__(self, directory, hr, cert, key, claims):
        directory.mkdir()
        self.port = free_port()
        self.base = f"https://localhost:{self.port}"
        self.did = f"did:web:localhost%3A{self.port}"
        key_path = directory / "login-signing.jwk"
        key_path.write_text(signing_jwk())
        os.chmod(key_path, 0o600)
        config = directory / "verifier.toml"
        config.write_text(f"""
[gate]
id = "login-test"
audience = "{self.base}/gate"
profile = "entry"
unknown_status = "allow"

[server]
listen = "127.0.0.1:{self.port}"
rate_limit_per_sec = 0

[[trust.jwks]]
file = "{hr.jwk_path}"
iss = "{ISSUER_ID}"

[status]
fetch_discovered = false

[log]
db = "{directory / 'gate-log.sqlite3'}"

[login]
public_url = "{self.base}"
did = "{self.did}"
signing_key = "{key_path}"
name = "{NAME}"
claims = {json.dumps(claims)}
""")
        self.context = ssl.create_default_context(cafile=cert)
        self.proc = subprocess.Popen(
            [os.environ["GOVID_VERIFIER"], "serve", "--config", str(config), "--tls-cert", cert,
             "--tls-key", key],
            cwd=directory, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), (line, "".join(self.stderr))
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def call(self, method, path):
        req = urllib.request.Request(self.base + path, data=b"" if method == "POST" else None,
                                     method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self.context))
        with opener.open(req, timeout=30) as r:
            return json.loads(r.read())

    def new_request(self):
        """`POST /login/requests`: what the login page shows (the QR code's link)."""
        body = self.call("POST", "/login/requests")
        return body["transaction"], body["authorization_request"]

    def result(self, transaction):
        return self.call("GET", f"/login/requests/{transaction}?wait=10")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def verifier(tmp_path_factory, hr, tls):
    v = Verifier(tmp_path_factory.mktemp("login") / "v", hr, *tls, CLAIMS)
    yield v
    v.stop()


def test_login_with_consent_discloses_exactly_the_asked_claims(tmp_path, hr, tls, verifier):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    http = TlsHttp(tls[0])
    transaction, link = verifier.new_request()
    assert link.startswith("openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Alocalhost")

    request = wallet.read_presentation_request(link, http)
    # Who asks: the host is verified (from the DID), the name only claimed.
    assert request.verifier_host == f"localhost:{verifier.port}"
    assert request.claimed_name == NAME
    assert request.client_id == "decentralized_identifier:" + verifier.did
    assert request.requested_claims == CLAIMS
    assert time.time() < request.expires_at <= time.time() + 600
    [matching] = request.credentials
    assert (matching.credential_id, matching.kind) == (cred.id, g.CredentialKind.WORKER_ID)
    assert [(c.path, c.value) for c in matching.disclosed] == [
        ("given_name", "Amira"), ("family_name", "Haddad"), ("organization/name", "Ministry of Transport"),
        ("position", "Senior Inspector"), ("employee_number", "E-10442")]
    # Fetched: the request object (with its media type), then the verifier's DID document.
    assert [r.method for r in http.requests] == ["GET", "GET"]
    assert http.requests[1].url == f"{verifier.base}/.well-known/did.json"
    assert {h.name: h.value for h in http.requests[0].headers}["Accept"] == "application/oauth-authz-req+jwt"

    answer = wallet.respond(request.request_id, cred.id, True)
    assert (answer.status, answer.shared, answer.error) == (200, True, None)
    posted = http.requests[-1]
    assert posted.method == "POST" and posted.url == f"{verifier.base}/login/response"
    assert bytes(posted.body).startswith(b"response=")

    result = verifier.result(transaction)
    assert result["result"] == "accepted", result
    assert result["claims"] == {
        "given_name": "Amira", "family_name": "Haddad", "organization": {"name": "Ministry of Transport"},
        "position": "Senior Inspector", "employee_number": "E-10442"}

    # A request is answered once.
    with pytest.raises(g.WalletError.InvalidPresentationRequest) as e:
        wallet.respond(request.request_id, cred.id, True)
    assert e.value.rule == "already_answered"


def test_declining_is_an_access_denied_rejection(tmp_path, hr, tls, verifier):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    http = TlsHttp(tls[0])
    transaction, link = verifier.new_request()
    request = wallet.read_presentation_request(link, http)
    answer = wallet.respond(request.request_id, cred.id, False)
    assert (answer.status, answer.shared) == (200, False)
    assert verifier.result(transaction) == {"result": "rejected", "error": "access_denied"}


def test_a_claim_the_worker_id_lacks_is_refused_by_the_wallet(tmp_path, tmp_path_factory, hr, tls):
    # test_issuer's worker IDs carry no `clearance`: a verifier asking for it is refused, named.
    asking_more = Verifier(tmp_path_factory.mktemp("login-more") / "v", hr, *tls, ["given_name", "clearance"])
    try:
        wallet, _ = enrolled(tmp_path, hr, PyKeyStore())
        http = TlsHttp(tls[0])
        transaction, link = asking_more.new_request()
        with pytest.raises(g.WalletError.MissingClaim) as e:
            wallet.read_presentation_request(link, http)
        assert e.value.path == "clearance" and "clearance" in str(e.value)
        assert all(r.method == "GET" for r in http.requests), "nothing was sent to the verifier"
    finally:
        asking_more.stop()


def test_a_verifier_whose_certificate_is_not_trusted_is_a_network_error(tmp_path, hr, verifier):
    wallet, _ = enrolled(tmp_path, hr, PyKeyStore())
    _, link = verifier.new_request()
    with pytest.raises(g.WalletError.Network) as e:
        wallet.read_presentation_request(link, TlsHttp(None))
    assert f"localhost:{verifier.port}" in str(e.value)
