"""Fixtures for the Python binding tests: the generated module, HR (test_issuer) and the gate
(govid-verifier). mobile-bindings/test.sh sets the environment:

GOVID_PY_BINDINGS  directory holding the generated govid_ffi.py next to libgovid_ffi.so
GOVID_TEST_ISSUER  the test_issuer example binary (plays HR)
GOVID_VERIFIER     the govid-verifier binary (plays the gate)
"""

import os
import subprocess
import sys

import pytest


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run mobile-bindings/test.sh", returncode=2)
    return value


sys.path.insert(0, _env("GOVID_PY_BINDINGS"))

ISSUER_ID = "did:web:hr.test.govid.example"
GATE = "https://gate-7.hq.govid.example"


class Hr:
    """The test issuer, acting as the HR office."""

    def __init__(self, directory):
        self.dir = str(directory)
        self.bin = _env("GOVID_TEST_ISSUER")
        subprocess.run([self.bin, "init", self.dir], check=True, capture_output=True)
        with open(os.path.join(self.dir, "issuer.jwk"), encoding="utf-8") as f:
            self.jwk = f.read().strip()
        self.jwk_path = os.path.join(self.dir, "issuer.jwk")
        # What HR publishes under https://hr.test.govid.example/.well-known/.
        self.jwks_path = os.path.join(self.dir, "jwks.json")
        self.did_document_path = os.path.join(self.dir, "did.json")

    def issue(self, code, proof, command="issue"):
        """The worker ID; `command="issue-gate-pass"` for the gate pass (same key and status
        entry), `"issue-other-vct"` for a credential of another type."""
        r = subprocess.run([self.bin, command, self.dir, code, proof], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def issue_gate_pass(self, code, proof):
        return self.issue(code, proof, "issue-gate-pass")

    def status_token(self, value):
        r = subprocess.run([self.bin, "status", self.dir, str(value)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def challenge(self, aud, claims):
        r = subprocess.run([self.bin, "challenge", aud, *claims], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


class Gate:
    """`govid-verifier check` with the HR key pinned."""

    def __init__(self, hr):
        self.hr = hr
        self.bin = _env("GOVID_VERIFIER")

    def check(self, presentation, *extra):
        """Verifies the scanned QR payload (`GV1:`) as a gate does."""
        return subprocess.run(
            [self.bin, "check", "--issuer-jwk", self.hr.jwk_path, "--sd-jwt-vc", "--require-kb", *extra],
            input=presentation.payload, capture_output=True, text=True,
        )


@pytest.fixture(scope="session")
def hr(tmp_path_factory):
    return Hr(tmp_path_factory.mktemp("hr"))


@pytest.fixture(scope="session")
def gate(hr):
    return Gate(hr)
