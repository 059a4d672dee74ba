"""The example program `examples/first_wallet.py`, as a module and as the program the README
runs, against the test HR's published jwks.json and a credential it issues; the gate checks the
code it shows."""

import importlib.util
import os
import subprocess
import sys
import types

from conftest import ISSUER_ID

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "first_wallet.py")


def load_example():
    spec = importlib.util.spec_from_file_location("first_wallet", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_wallet_as_a_module(tmp_path, hr, gate):
    example = load_example()
    code = "K7QM-3XTR-9D2F-HB6W-0PNA-V4YE-ZC8G"
    with open(hr.jwks_path, encoding="utf-8") as f:
        jwks = f.read()
    presentation = example.first_wallet(str(tmp_path), "pw", jwks, f"GVE1:{code}:{ISSUER_ID}",
                                        lambda proof: hr.issue(code, proof))
    assert presentation.payload.startswith("GV1:")
    r = gate.check(presentation, "--aud", example.GATE)
    assert r.returncode == 0, r.stderr


def test_first_wallet_as_a_program(tmp_path, hr, gate):
    code = "M3TX-8QKD-2HBW-7PVN-0ZCY-4RFA-9JGE"
    env = dict(os.environ, PYTHONPATH=os.environ["GOVID_PY_BINDINGS"])
    program = subprocess.Popen(
        [sys.executable, EXAMPLE, str(tmp_path / "phone"), hr.jwks_path, f"GVE1:{code}:{ISSUER_ID}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    key_proof = program.stdout.readline().strip()
    issued = tmp_path / "E-10442.sd-jwt"
    issued.write_text(hr.issue(code, key_proof))
    out, err = program.communicate(f"{issued}\n", timeout=60)
    assert program.returncode == 0, err
    assert "Amira Haddad, Ministry of Transport" in err
    payload = out.strip().splitlines()[-1]
    r = gate.check(types.SimpleNamespace(payload=payload), "--aud", load_example().GATE)
    assert r.returncode == 0, r.stderr
