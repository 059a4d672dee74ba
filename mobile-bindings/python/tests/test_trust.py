"""Trusting HR from what it publishes (jwks.json, did:web's did.json), through the generated
Python bindings, and the refusal that names the issuer a credential claims."""

import json

import pytest

import govid_ffi as g
from conftest import ISSUER_ID

KID = f"{ISSUER_ID}#key-1"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.fixture
def wallet(tmp_path):
    keys = g.SoftwareKeyStore.open(str(tmp_path / "keys"), "passphrase")
    return g.Wallet.open(str(tmp_path / "wallet"), keys.as_key_store())


def issued(wallet, hr, code):
    request = wallet.enroll(code, ISSUER_ID, g.KeyAlgorithm.ES256)
    return hr.issue(code, request.key_proof)


def test_untrusted_issuer_is_named_in_the_refusal(wallet, hr):
    with pytest.raises(g.WalletError.InvalidCredential) as e:
        wallet.accept_credential(issued(wallet, hr, "CODE-UNTRUSTED"))
    assert e.value.rule == "untrusted_issuer"
    assert e.value.reason == (
        f'issuer: issuer is not trusted: the credential has `iss` "{ISSUER_ID}" and `kid` "{KID}"; '
        "trust the keys this issuer publishes (its JWK Set or DID document) first")


def test_hrs_published_jwks(wallet, hr):
    pinned = wallet.trust_issuer_jwks(read(hr.jwks_path), ISSUER_ID)
    assert [(t.issuer, t.kid) for t in pinned] == [(ISSUER_ID, KID)]
    assert wallet.trusted_issuers() == pinned
    assert wallet.accept_credential(issued(wallet, hr, "CODE-JWKS")).issuer == ISSUER_ID


def test_a_jwks_with_no_usable_key_is_refused(wallet, hr):
    with pytest.raises(g.WalletError.InvalidInput) as e:
        wallet.trust_issuer_jwks('{"keys": []}', ISSUER_ID)
    assert e.value.reason == "issuer JWK Set: the JWK Set's `keys` is not a non-empty array"
    private = json.loads(read(hr.jwks_path))
    private["keys"][0]["d"] = "AAAA"
    with pytest.raises(g.WalletError.InvalidInput) as e:
        wallet.trust_issuer_jwks(json.dumps(private), ISSUER_ID)
    assert e.value.reason == (
        "issuer JWK Set: key 0: JWK contains private key material where a public key is expected")
    assert wallet.trusted_issuers() == []


def test_did_web_document(wallet, hr):
    pinned = wallet.trust_issuer_did_document(ISSUER_ID, read(hr.did_document_path))
    assert [(t.issuer, t.kid) for t in pinned] == [(ISSUER_ID, KID)]
    assert wallet.accept_credential(issued(wallet, hr, "CODE-DID")).issuer == ISSUER_ID


def test_a_did_document_of_another_did_is_refused(wallet, hr):
    other = "did:web:other.govid.example"
    with pytest.raises(g.WalletError.InvalidInput) as e:
        wallet.trust_issuer_did_document(other, read(hr.did_document_path))
    assert e.value.reason == f"the DID document's `id` is not {other}: it is another issuer's document"
    with pytest.raises(g.WalletError.InvalidInput) as e:
        wallet.trust_issuer_did_document("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                                         read(hr.did_document_path))
    assert e.value.reason == (
        "issuer DID: only did:web issuers are trusted from a DID document; trust a did:key or "
        "did:jwk issuer with trust_issuer_did")
    assert wallet.trusted_issuers() == []
