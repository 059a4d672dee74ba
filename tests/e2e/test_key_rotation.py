"""Issuer key rotation (`govid-issuer rotate-key`, did:web): IDs signed with the old key keep
verifying, new IDs carry the new `kid`, and gates learn the new key from what HR re-publishes:
an online gate from the DID document, an offline gate from the trust bundle."""

import os
import shutil

from conftest import (Gate, StaticHost, assert_allowed, assert_denied, jwt_part, offline_gate_config,
                      online_gate_config, onboard)


def kid_of(path):
    with open(path, encoding="utf-8") as f:
        return jwt_part(f.read(), 0)["kid"]


def test_rotation_old_ids_verify_new_ids_use_the_new_key(tmp_path, make_phone, make_issuer):
    host = StaticHost(tmp_path / "host")
    gates = []
    try:
        hr = make_issuer(tmp_path / "issuer", "E2E Rotating HR", "hr.rotating.e2e.example", "ROT", host.url("/status"))
        old_phone, new_phone = make_phone(), make_phone()
        old_row, old_cred, old_path = onboard(hr, old_phone)
        assert kid_of(old_path) == f"{hr.did}#key-1"
        hr.publish(host.root)

        online = Gate(tmp_path / "online-gate", online_gate_config("e2e-rotation-online", hr, host))
        gates.append(online)
        offline_dir = tmp_path / "offline-gate"
        os.makedirs(offline_dir)
        bundle = os.path.join(offline_dir, "trust-bundle.jwt")
        operator = shutil.copy(os.path.join(host.root, "operator.jwk"), os.path.join(offline_dir, "operator.jwk"))
        shutil.copy(os.path.join(host.root, "trust-bundle.jwt"), bundle)
        offline = Gate(offline_dir, offline_gate_config("e2e-rotation-offline", bundle, operator))
        gates.append(offline)
        online.wait_status_list(host.url("/status/1"))
        assert_allowed(online.verify(old_phone.show(old_cred.id)), hr, old_row)
        assert_allowed(offline.verify(old_phone.show(old_cred.id)), hr, old_row)

        rotated = hr.run("rotate-key")
        assert rotated["kid"] == f"{hr.did}#key-2", rotated
        hr.publish(host.root)
        marks = {p: host.count(p) for p in ("/.well-known/did.json", "/status/1")}
        new_row, new_cred, new_path = onboard(hr, new_phone)
        assert kid_of(new_path) == f"{hr.did}#key-2"

        # The online gate re-fetches the DID document (both keys) and the list, now signed by key-2.
        for path, since in marks.items():
            host.wait_refetched(path, since)
        assert_allowed(online.verify(new_phone.show(new_cred.id)), hr, new_row)
        assert_allowed(online.verify(old_phone.show(old_cred.id)), hr, old_row)

        # The offline gate knows only the old bundle's key until it is given the new bundle: the
        # `kid` names a key it does not have, and it says so (not a failed signature).
        assert_denied(offline.verify(new_phone.show(new_cred.id)), "unknown_issuer_key")
        shutil.copy(os.path.join(host.root, "trust-bundle.jwt"), bundle)
        offline.reload()
        assert_allowed(offline.verify(new_phone.show(new_cred.id)), hr, new_row)
        assert_allowed(offline.verify(old_phone.show(old_cred.id)), hr, old_row)
    finally:
        for gate in gates:
            gate.stop()
        host.stop()
