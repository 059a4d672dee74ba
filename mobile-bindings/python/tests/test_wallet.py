"""The wallet flow through the generated Python bindings, with a Python KeyStore (the
`cryptography` package's P-256) and the library's SoftwareKeyStore."""

import base64
import json
import struct
import threading
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import govid_ffi as g
from conftest import GATE, ISSUER_ID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class PyKeyStore(g.KeyStore):
    """P-256 keys in memory; signs raw r||s (JOSE form), or DER when `der` is set."""

    def __init__(self, der=False):
        self.keys = {}
        self.der = der
        self.lock = threading.Lock()

    def create_key(self, alias, alg):
        if alg != g.KeyAlgorithm.ES256:
            raise g.KeyStoreError.UnsupportedAlgorithm()
        with self.lock:
            if alias in self.keys:
                raise g.KeyStoreError.KeyExists(alias)
            self.keys[alias] = ec.generate_private_key(ec.SECP256R1())
        return self.public_jwk(alias)

    def _key(self, alias):
        key = self.keys.get(alias)
        if key is None:
            raise g.KeyStoreError.KeyNotFound(alias)
        return key

    def sign(self, alias, message):
        der = self._key(alias).sign(bytes(message), ec.ECDSA(hashes.SHA256()))
        if self.der:
            return der
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def public_jwk(self, alias):
        numbers = self._key(alias).public_key().public_numbers()
        return json.dumps({
            "kty": "EC", "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        })

    def delete_key(self, alias):
        self.keys.pop(alias, None)


def enrolled(tmp_path, hr, key_store, name="w"):
    wallet = g.Wallet.open(str(tmp_path / name), key_store)
    wallet.trust_issuer(hr.jwk, ISSUER_ID)
    code = f"ENR-{name}-{time.time_ns()}"
    request = wallet.enroll(code, ISSUER_ID, g.KeyAlgorithm.ES256)
    return wallet, wallet.accept_credential(hr.issue(code, request.key_proof))


def jwt_part(jwt, i):
    part = jwt.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_enroll_key_proof(tmp_path):
    ks = PyKeyStore()
    wallet = g.Wallet.open(str(tmp_path / "w"), ks)
    req = wallet.enroll("CODE-42", ISSUER_ID, g.KeyAlgorithm.ES256)
    header, payload = jwt_part(req.key_proof, 0), jwt_part(req.key_proof, 1)
    assert header["typ"] == "openid4vci-proof+jwt" and header["alg"] == "ES256"
    assert header["jwk"] == json.loads(req.holder_jwk)
    assert payload["aud"] == ISSUER_ID and payload["nonce"] == "CODE-42"
    assert abs(payload["iat"] - time.time()) < 60
    # The proof verifies with the Python key.
    sig = base64.urlsafe_b64decode(req.key_proof.split(".")[2] + "==")
    assert len(sig) == 64
    assert req.key_alias in ks.keys


def test_accept_list_and_present(tmp_path, hr, gate):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    assert (cred.given_name, cred.family_name, cred.organization_code) == ("Amira", "Haddad", "MOT")
    assert cred.status == g.CredentialStatus.UNKNOWN() and not cred.expired
    assert [c.id for c in wallet.list_credentials()] == [cred.id]

    p = wallet.present_rotating(cred.id, GATE, g.GateProfileKind.ENTRY)
    assert p.payload.startswith("GV1:") and p.refresh_after_seconds == 20
    r = gate.check(p, "--aud", GATE)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["given_name"] == "Amira" and shown["organization"]["code"] == "MOT"
    assert "position" not in shown and "employee_number" not in shown

    q = wallet.present(cred.id, GATE, "nonce-python-000001",
                       g.ClaimSelection.CLAIMS(["position", "access_zones/0"]))
    r = gate.check(q, "--aud", GATE, "--nonce", "nonce-python-000001")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["position"] == "Senior Inspector" and shown["access_zones"] == ["HQ-A"]
    r = gate.check(q, "--aud", GATE, "--nonce", "another-nonce-00001")
    assert r.returncode == 1 and r.stderr.startswith("kb_nonce")


def test_challenge_mode(tmp_path, hr, gate):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    challenge = hr.challenge(GATE, ["family_name", "organization/name"])
    req = wallet.read_challenge(challenge)
    assert req.aud == GATE and req.claims == ["family_name", "organization/name"]
    p = wallet.present_for_challenge(cred.id, challenge)
    # `--nonce=`: a random nonce may start with "-", which a separate argument would turn into a flag.
    r = gate.check(p, "--aud", GATE, f"--nonce={p.nonce}")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["family_name"] == "Haddad" and "given_name" not in shown


def test_der_signatures_are_converted(tmp_path, hr, gate):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore(der=True))
    p = wallet.present_rotating(cred.id, GATE, g.GateProfileKind.COUNTER)
    r = gate.check(p, "--aud", GATE)
    assert r.returncode == 0, r.stderr


def test_typed_errors(tmp_path, hr):
    ks = PyKeyStore()
    wallet, cred = enrolled(tmp_path, hr, ks)
    with pytest.raises(g.WalletError.NotFound):
        wallet.present_rotating("no-such-id", GATE, g.GateProfileKind.ENTRY)
    with pytest.raises(g.WalletError.MissingClaim):
        wallet.present(cred.id, GATE, "nonce-0000000000001", g.ClaimSelection.CLAIMS(["clearance"]))
    with pytest.raises(g.WalletError.InvalidInput):
        wallet.present(cred.id, "", "n", g.ClaimSelection.PROFILE(g.GateProfileKind.ENTRY))
    ks.keys.clear()  # the key vanished from the key store
    with pytest.raises(g.WalletError.KeyStore) as e:
        wallet.present_rotating(cred.id, GATE, g.GateProfileKind.ENTRY)
    assert e.value.kind == g.KeyStoreFailure.KEY_NOT_FOUND
    with pytest.raises(g.WalletError.InvalidCredential) as e:
        g.Wallet.open(str(tmp_path / "other"), PyKeyStore()).accept_credential("not.a~credential~")
    assert e.value.rule


def test_software_key_store(tmp_path, hr, gate):
    soft = g.SoftwareKeyStore.open(str(tmp_path / "keys"), "passphrase")
    wallet, cred = enrolled(tmp_path, hr, soft.as_key_store())
    p = wallet.present_rotating(cred.id, GATE, g.GateProfileKind.ENTRY)
    assert gate.check(p, "--aud", GATE).returncode == 0
    with pytest.raises(g.KeyStoreError.WrongPassphrase) as e:
        g.SoftwareKeyStore.open(str(tmp_path / "keys"), "not it")
    # uniffi builds str() from the fields: not empty, and says what happened.
    assert str(e.value) == "reason='wrong passphrase for the software key store'"
    assert e.value.reason == "wrong passphrase for the software key store"
    png = g.qr_png(p.payload, 4, g.QrEcc.M)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in g.qr_svg(p.payload, g.QrEcc.L)


def test_threads(tmp_path, hr):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    nonces, errors = [], []

    def worker():
        try:
            for _ in range(8):
                nonces.append(wallet.present_rotating(cred.id, GATE, g.GateProfileKind.ENTRY).nonce)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(nonces)) == 64


def test_status_refresh(tmp_path, hr):
    wallet, cred = enrolled(tmp_path, hr, PyKeyStore())
    assert wallet.refresh_status(cred.id, hr.status_token(0)).status == g.CredentialStatus.VALID()
    revoked = wallet.refresh_status(cred.id, hr.status_token(1))
    assert revoked.status == g.CredentialStatus.REVOKED() and revoked.status_checked_at
    with pytest.raises(g.WalletError.InvalidStatusList) as e:
        wallet.refresh_status(cred.id, "not.a.token")
    assert e.value.rule.startswith("status_token")


def test_enroll_from_offer(tmp_path, hr):
    wallet = g.Wallet.open(str(tmp_path / "w"), PyKeyStore())
    wallet.trust_issuer(hr.jwk, ISSUER_ID)
    code = "K7QM-3XTR-9D2F-HB6W-0PNA-V4YE-ZC8G"
    req = wallet.enroll_from_offer(f"GVE1:{code}:{ISSUER_ID}", g.KeyAlgorithm.ES256)
    assert jwt_part(req.key_proof, 1)["nonce"] == code
    assert wallet.accept_credential(hr.issue(code, req.key_proof)).given_name == "Amira"


def qr_version(payload):
    """The QR version at ECC M, from the PNG's width (1 px per module, 4-module quiet zone)."""
    png = g.qr_png(payload, 1, g.QrEcc.M)
    (side,) = struct.unpack(">I", png[16:20])
    return (side - 8 - 17) // 4


def test_gate_pass_accept_kind_and_entry(tmp_path, hr, gate):
    wallet = g.Wallet.open(str(tmp_path / "w"), PyKeyStore())
    wallet.trust_issuer(hr.jwk, ISSUER_ID)
    code = f"ENR-pass-{time.time_ns()}"
    req = wallet.enroll(code, ISSUER_ID, g.KeyAlgorithm.ES256)
    worker = wallet.accept_credential(hr.issue(code, req.key_proof))
    pass_file = tmp_path / "gate-pass.sd-jwt"
    pass_file.write_text(hr.issue_gate_pass(code, req.key_proof))
    gate_pass = wallet.accept_credential_file(str(pass_file))
    assert worker.kind == g.CredentialKind.WORKER_ID
    assert gate_pass.kind == g.CredentialKind.GATE_PASS
    assert (gate_pass.given_name, gate_pass.organization_code) == ("Amira", "MOT")
    assert gate_pass.position is None and gate_pass.employee_number is None
    # Both received in the same second: listed in id order, so compare as a dict.
    assert {c.id: c.kind for c in wallet.list_credentials()} == {
        worker.id: g.CredentialKind.WORKER_ID, gate_pass.id: g.CredentialKind.GATE_PASS}

    # Rotating entry code from the worker ID's id: the gate pass, verified by the gate.
    best = wallet.present_rotating_best(worker.id, GATE, g.GateProfileKind.ENTRY)
    assert (best.kind, best.credential_id) == (g.CredentialKind.GATE_PASS, gate_pass.id)
    r = gate.check(best, "--aud", GATE)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["vct"] == "https://govid.example/vct/worker-gate-pass/v1"
    assert shown["given_name"] == "Amira" and shown["organization"] == {"name": "Ministry of Transport", "code": "MOT"}
    # By id: the worker ID, as before, in a larger QR code.
    by_id = wallet.present_rotating(worker.id, GATE, g.GateProfileKind.ENTRY)
    assert (by_id.kind, by_id.credential_id) == (g.CredentialKind.WORKER_ID, worker.id)
    assert qr_version(best.payload) < qr_version(by_id.payload)

    entry = g.ClaimSelection.PROFILE(g.GateProfileKind.ENTRY)
    assert wallet.best_credential(worker.id, entry).id == gate_pass.id
    p = wallet.present_best(worker.id, GATE, "nonce-python-best-01", entry)
    assert p.kind == g.CredentialKind.GATE_PASS
    assert gate.check(p, "--aud", GATE, "--nonce", "nonce-python-best-01").returncode == 0
    challenge = hr.challenge(GATE, ["given_name", "organization/code"])
    c = wallet.present_for_challenge_best(worker.id, challenge)
    assert c.kind == g.CredentialKind.GATE_PASS
    assert gate.check(c, "--aud", GATE, "--nonce", c.nonce).returncode == 0
    counter = wallet.present_best(gate_pass.id, GATE, "nonce-python-best-02",
                                  g.ClaimSelection.PROFILE(g.GateProfileKind.COUNTER))
    assert (counter.kind, counter.credential_id) == (g.CredentialKind.WORKER_ID, worker.id)

    # Status: refreshing the pass records the shared entry's status for both.
    assert wallet.refresh_status(gate_pass.id, hr.status_token(1)).status == g.CredentialStatus.REVOKED()
    assert wallet.credential(worker.id).status == g.CredentialStatus.REVOKED()
    assert wallet.best_credential(worker.id, entry).id == worker.id


def test_other_vct_is_refused(tmp_path, hr):
    wallet = g.Wallet.open(str(tmp_path / "w"), PyKeyStore())
    wallet.trust_issuer(hr.jwk, ISSUER_ID)
    req = wallet.enroll("CODE-VCT", ISSUER_ID, g.KeyAlgorithm.ES256)
    with pytest.raises(g.WalletError.InvalidCredential) as e:
        wallet.accept_credential(hr.issue("CODE-VCT", req.key_proof, "issue-other-vct"))
    assert e.value.rule == "not_worker_id"
    assert wallet.list_credentials() == []
