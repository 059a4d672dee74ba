"""A phone receives its IDs over OpenID4VCI: `govid-issuer serve` on loopback, the wallet's
`receive_offer` (the Python bindings over the real library) with an HttpClient on urllib, the
offer and PIN from `govid-issuer offer`; then the gate decides on what the phone shows, and HR's
revocation reaches an ID issued this way."""

import socket
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from conftest import ISSUER_BIN, _die_with_parent, assert_allowed, assert_denied, g, wait_until


class UrllibHttp(g.HttpClient):
    """The app's HTTP stack, as an Android app would give OkHttp: here urllib, no proxies."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

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
        except OSError as e:
            raise g.HttpError.Network(str(e)) from e
        return g.HttpResponse(status=status, headers=[g.HttpHeader(name=k, value=v) for k, v in headers],
                              body=body)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IssuerService:
    """`govid-issuer serve` on HR's issuer directory (beside the CLI), DPoP required."""

    def __init__(self, hr):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [ISSUER_BIN, "--dir", hr.dir, "serve", "--listen", f"127.0.0.1:{port}", "--public-url", self.url,
             "--require-dpop"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=hr.env(),
            preexec_fn=_die_with_parent)
        self.listening = False
        threading.Thread(target=self._read, daemon=True).start()
        wait_until("govid-issuer serve to listen", lambda: self.listening or self.proc.poll() is not None)
        assert self.listening, f"govid-issuer serve exited: {self.proc.stderr.read().decode(errors='replace')}"

    def _read(self):
        for line in self.proc.stdout:
            if line.decode(errors="replace").startswith("listening on "):
                self.listening = True

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def service(hr):
    s = IssuerService(hr)
    yield s
    s.stop()


def offer(hr, service, number):
    out = hr.run("offer", number, "--public-url", service.url)["offers"][0]["openid4vci"]
    assert out["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    return out["offer_uri"], out["tx_code"]


def test_a_phone_receives_both_ids_over_openid4vci_and_the_gate_lets_it_in(hr, hr_host, gate, service, phone):
    row = hr.hire()
    number = row["employee_number"]
    uri, pin = offer(hr, service, number)
    phone.trust(hr)
    received = phone.wallet.receive_offer(uri, pin, UrllibHttp())
    assert received.issuer == service.url
    kinds = {c.kind for c in received.credentials}
    assert kinds == {g.CredentialKind.WORKER_ID, g.CredentialKind.GATE_PASS}, kinds
    worker = next(c for c in received.credentials if c.kind == g.CredentialKind.WORKER_ID)
    assert worker.employee_number == number
    shown = subprocess.run([ISSUER_BIN, "--dir", hr.dir, "staff", "show", number], capture_output=True,
                           text=True, env=hr.env(), timeout=30)
    assert "received on phone at" in shown.stdout, shown.stdout
    # The status list the service's credentials point at, as HR publishes it.
    hr.publish(hr_host.root)
    hr_host.wait_refetched("/status/1", since=hr_host.count("/status/1"))
    assert_allowed(gate.verify(phone.show(worker.id)), hr, row)
    assert hr.run("audit", "verify")["ok"]

    # HR revokes: an ID issued over OpenID4VCI is revoked like any other.
    hr.run("revoke", number, "--reason", "left the ministry", "--yes")
    hr.publish(hr_host.root)
    hr_host.wait_refetched("/status/1", since=hr_host.count("/status/1"))
    assert_denied(gate.verify(phone.show(worker.id)), "revoked", "revoked")


def test_a_wrong_pin_says_how_many_tries_are_left_and_the_offer_still_works(hr, service, make_phone):
    row = hr.hire()
    uri, pin = offer(hr, service, row["employee_number"])
    phone = make_phone()
    phone.trust(hr)
    wrong = str((int(pin) + 1) % 1_000_000).zfill(6)
    with pytest.raises(g.WalletError.WrongTxCode) as failed:
        phone.wallet.receive_offer(uri, wrong, UrllibHttp())
    assert failed.value.tries_left == 4
    assert len(phone.wallet.receive_offer(uri, pin, UrllibHttp()).credentials) == 2
    # The same offer again, on another phone: used.
    other = make_phone()
    other.trust(hr)
    with pytest.raises(g.WalletError.OfferExpired):
        other.wallet.receive_offer(uri, pin, UrllibHttp())


def test_five_wrong_pins_end_the_offer(hr, service, make_phone):
    row = hr.hire()
    uri, pin = offer(hr, service, row["employee_number"])
    phone = make_phone()
    phone.trust(hr)
    wrong = str((int(pin) + 1) % 1_000_000).zfill(6)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(g.WalletError.WrongTxCode) as failed:
            phone.wallet.receive_offer(uri, wrong, UrllibHttp())
        assert failed.value.tries_left == left
    with pytest.raises(g.WalletError.OfferExpired):
        phone.wallet.receive_offer(uri, pin, UrllibHttp())
