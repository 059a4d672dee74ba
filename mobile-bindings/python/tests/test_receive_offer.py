"""OpenID4VCI: `Wallet.receive_offer` against a third-party issuer (tests/interop/oid4vci/issuer.mjs,
built on @openid4vc/openid4vci 0.4.6), with an `HttpClient` on `urllib.request`; and
`refresh_statuses` through the same trait. Needs node (mobile-bindings/test.sh runs `npm ci` in
tests/interop/oid4vci when node_modules is missing); never skipped."""

import json
import os
import queue
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import govid_ffi as g
from conftest import GATE, ISSUER_ID
from test_wallet import PyKeyStore, enrolled

ROOT = Path(__file__).resolve().parents[3]
ISSUER_DIR = ROOT / "tests" / "interop" / "oid4vci"
WORKER_ID_VCT = "https://govid.example/vct/worker-id/v1"
GATE_PASS_VCT = "https://govid.example/vct/worker-gate-pass/v1"
ISSUER_NAME = "Interop test issuer (@openid4vc/openid4vci)"
OFFERS = 12


class UrllibHttp(g.HttpClient):
    """The app's HTTP stack: urllib, no proxies (the issuer is on loopback), bodies capped."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
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
        except OSError as e:  # URLError, timeouts, refused connections
            raise g.HttpError.Network(str(e)) from e
        return g.HttpResponse(status=status, headers=[g.HttpHeader(name=k, value=v) for k, v in headers],
                              body=body)


class Offline(g.HttpClient):
    def __init__(self, exc):
        self.exc = exc

    def send(self, request):
        raise self.exc


class Issuer:
    def __init__(self, tmp):
        node = shutil.which("node")
        assert node, "node (20 or later) is required for the OpenID4VCI tests: apt-get install nodejs"
        if not (ISSUER_DIR / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ISSUER_DIR, check=True)
        self.jwks_path = str(tmp / "issuer-jwks.json")
        self.proc = subprocess.Popen(
            [node, "issuer.mjs", "--port", "0", "--vct", WORKER_ID_VCT, "--gate-pass-vct", GATE_PASS_VCT,
             "--jwk-out", self.jwks_path, "--offers", str(OFFERS)],
            cwd=ISSUER_DIR, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), line
        self.base = "http://" + line.split()[-1]
        self.offers = [json.loads(self.proc.stdout.readline()) for _ in range(OFFERS)]
        self.notifications = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.notifications.put(json.loads(line)["notification"])

    def offer(self):
        """A fresh offer; forgets the notifications of earlier tests."""
        while not self.notifications.empty():
            self.notifications.get_nowait()
        return self.offers.pop()

    def jwks(self):
        return json.dumps(self.offers[0]["issuer_jwks"])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    i = Issuer(tmp_path_factory.mktemp("oid4vci"))
    yield i
    i.stop()


def trusting_wallet(tmp_path, issuer, ks=None):
    wallet = g.Wallet.open(str(tmp_path / "w"), ks or PyKeyStore())
    wallet.trust_issuer_jwks(issuer.jwks(), issuer.base)
    return wallet


def wrong(pin):
    return pin[:-1] + str((int(pin[-1]) + 1) % 10)


def test_receive_offer_stores_both_and_presents(tmp_path, issuer):
    ks = PyKeyStore()
    wallet = trusting_wallet(tmp_path, issuer, ks)
    wallet.set_preferred_languages(["de-CH", "en"])
    offer = issuer.offer()
    http = UrllibHttp()
    got = wallet.receive_offer(offer["offer_uri"], offer["tx_code"], http)
    assert got.issuer == issuer.base and got.issuer_name == ISSUER_NAME
    assert got.skipped_configurations == []
    assert [c.kind for c in got.credentials] == [g.CredentialKind.WORKER_ID, g.CredentialKind.GATE_PASS]
    worker, gate_pass = got.credentials
    assert (worker.given_name, worker.employee_number, worker.organization_code) == ("Amira", "MOT-0001", "MOT")
    assert worker.issuer == issuer.base and gate_pass.given_name == "Amira"
    assert {c.id for c in wallet.list_credentials()} == {worker.id, gate_pass.id}
    # One holder key for both; the DPoP key was deleted after the exchange.
    assert len(ks.keys) == 1 and worker.key_algorithm == g.KeyAlgorithm.ES256

    # The wire: DPoP on the token request; DPoP-bound token and a key proof on each credential
    # request; never the PIN or the code outside the token request body.
    token_req = next(r for r in http.requests if r.url.endswith("/token"))
    assert any(h.name == "DPoP" for h in token_req.headers)
    cred_reqs = [r for r in http.requests if r.url.endswith("/credential")]
    assert len(cred_reqs) == 2
    for r in cred_reqs:
        headers = {h.name: h.value for h in r.headers}
        assert headers["Authorization"].startswith("DPoP ") and "DPoP" in headers
        proof = json.loads(bytes(r.body))["proofs"]["jwt"][0]
        from test_wallet import jwt_part
        assert jwt_part(proof, 0)["typ"] == "openid4vci-proof+jwt"
        assert jwt_part(proof, 1)["aud"] == issuer.base and "iss" not in jwt_part(proof, 1)

    # Notified, one per credential.
    events = [issuer.notifications.get(timeout=10) for _ in range(2)]
    assert sorted(e["credential_configuration_id"] for e in events) == ["gate_pass", "worker_id"]
    assert {e["event"] for e in events} == {"credential_accepted"}

    # A rotating entry code from the gate pass, checked as the gate checks it.
    best = wallet.present_rotating_best(worker.id, GATE, g.GateProfileKind.ENTRY)
    assert (best.kind, best.credential_id) == (g.CredentialKind.GATE_PASS, gate_pass.id)
    r = subprocess.run(
        [os.environ["GOVID_VERIFIER"], "check", "--issuer-jwk", issuer.jwks_path, "--sd-jwt-vc",
         "--require-kb", "--aud", GATE],
        input=best.payload, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["vct"] == GATE_PASS_VCT and shown["given_name"] == "Amira"


def test_wrong_pin_then_right_pin(tmp_path, issuer):
    ks = PyKeyStore()
    wallet = trusting_wallet(tmp_path, issuer, ks)
    offer = issuer.offer()
    with pytest.raises(g.WalletError.WrongTxCode) as e:
        wallet.receive_offer(offer["offer_uri"], wrong(offer["tx_code"]), UrllibHttp())
    assert offer["tx_code"] not in str(e.value) and wrong(offer["tx_code"]) not in str(e.value)
    assert "wrong transaction code" in str(e.value)
    assert ks.keys == {} and wallet.list_credentials() == []
    with pytest.raises(g.WalletError.TxCodeRequired):
        wallet.receive_offer(offer["offer_uri"], None, UrllibHttp())
    # The code survives a wrong PIN (issuer.mjs allows three).
    assert len(wallet.receive_offer(offer["offer_uri"], offer["tx_code"], UrllibHttp()).credentials) == 2
    # Used: expired/used, not "wrong PIN".
    with pytest.raises(g.WalletError.OfferExpired):
        wallet.receive_offer(offer["offer_uri"], offer["tx_code"], UrllibHttp())


def test_untrusted_issuer_is_named_and_the_offer_survives(tmp_path, issuer):
    wallet = g.Wallet.open(str(tmp_path / "w"), PyKeyStore())
    offer = issuer.offer()
    with pytest.raises(g.WalletError.IssuerNotTrusted) as e:
        wallet.receive_offer(offer["offer_uri"], offer["tx_code"], UrllibHttp())
    assert e.value.issuer == issuer.base
    assert issuer.base in str(e.value) and "trustIssuerJwks" in str(e.value)
    assert wallet.list_credentials() == []
    # Trusting the issuer's keys, then the same offer: it was not used up.
    wallet.trust_issuer_jwks(issuer.jwks(), issuer.base)
    assert len(wallet.receive_offer(offer["offer_uri"], offer["tx_code"], UrllibHttp()).credentials) == 2


def test_untrusted_key_after_the_token_names_the_credential_issuer(tmp_path, issuer, hr):
    # Trusting another key for this issuer passes the pre-check; the credential then fails to
    # verify: still IssuerNotTrusted naming the `iss`, nothing stored, keys deleted.
    ks = PyKeyStore()
    wallet = g.Wallet.open(str(tmp_path / "w"), ks)
    wallet.trust_issuer(hr.jwk, issuer.base)
    offer = issuer.offer()
    with pytest.raises(g.WalletError.IssuerNotTrusted) as e:
        wallet.receive_offer(offer["offer_uri"], offer["tx_code"], UrllibHttp())
    assert e.value.issuer == issuer.base and "credential-key-1" in str(e.value)
    assert wallet.list_credentials() == [] and ks.keys == {}
    events = [issuer.notifications.get(timeout=10) for _ in range(2)]
    assert [e["event"] for e in events] == ["credential_failure"] * 2


def test_network_down(tmp_path, issuer):
    wallet = trusting_wallet(tmp_path, issuer)
    offer = issuer.offer()
    with pytest.raises(g.WalletError.Network) as e:
        wallet.receive_offer(offer["offer_uri"], offer["tx_code"], Offline(g.HttpError.Network("offline")))
    assert "offline" in str(e.value)
    # Any other exception from the client is "no response" too.
    with pytest.raises(g.WalletError.Network):
        wallet.receive_offer(offer["offer_uri"], offer["tx_code"], Offline(ConnectionRefusedError("refused")))


def test_bad_offer_links(tmp_path, issuer):
    wallet = trusting_wallet(tmp_path, issuer)
    with pytest.raises(g.WalletError.InvalidOffer):
        wallet.receive_offer("openid-credential-offer://?nothing=here", "123456", UrllibHttp())
    with pytest.raises(g.WalletError.InvalidOffer):
        wallet.receive_offer(
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.example%2Foffer", "1",
            UrllibHttp())


class StatusServer(g.HttpClient):
    def __init__(self, token):
        self.token = token
        self.urls = []

    def send(self, request):
        self.urls.append(request.url)
        return g.HttpResponse(status=200, headers=[g.HttpHeader(name="Content-Type", value="application/statuslist+jwt")],
                              body=self.token.encode())


def test_refresh_statuses(tmp_path, hr):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    server = StatusServer(hr.status_token(1))
    result = wallet.refresh_statuses(server)
    assert server.urls == [cred.status_list_uri] and result.lists_checked == 1 and result.failures == []
    assert [(c.credential.id, c.previous, c.credential.status) for c in result.changed] == [
        (cred.id, g.CredentialStatus.UNKNOWN(), g.CredentialStatus.REVOKED())]
    # Nothing changes the second time; an offline client is a failure, not an exception.
    assert wallet.refresh_statuses(server).changed == []
    offline = wallet.refresh_statuses(Offline(g.HttpError.Network("offline")))
    assert offline.lists_checked == 0 and offline.failures[0].status_list_uri == cred.status_list_uri
