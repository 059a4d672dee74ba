"""An offline gate: no status list URL, no DID fetch; trusted issuers, their keys and their status
lists come only from the trust bundle HR publishes, signed by the operator key the gate pins.
The issuer's status list URLs point at a closed port, so there is nothing the gate could fetch."""

import os
import shutil
import time

import pytest

from conftest import Gate, Issuer, assert_allowed, assert_denied, offline_gate_config, onboard


@pytest.fixture(scope="module")
def offline_hr(tmp_path_factory):
    issuer = Issuer(tmp_path_factory.mktemp("offline-hr") / "issuer", "E2E Offline Depot HR",
                    "hr.depot.e2e.example", "DEP", "http://127.0.0.1:9/status")
    yield issuer
    issuer.close()


def bundle_gate(directory, published, gate_id):
    """A gate whose bundle and operator key are copies of what `publish` wrote to `published`."""
    os.makedirs(directory)
    bundle = shutil.copy(os.path.join(published, "trust-bundle.jwt"), os.path.join(directory, "trust-bundle.jwt"))
    operator = shutil.copy(os.path.join(published, "operator.jwk"), os.path.join(directory, "operator.jwk"))
    return Gate(directory, offline_gate_config(gate_id, bundle, operator))


def test_offline_bundle_within_staleness_allows(tmp_path, offline_hr, phone):
    row, cred, _ = onboard(offline_hr, phone)
    offline_hr.publish(tmp_path / "published", "--max-staleness-hours", "24")
    gate = bundle_gate(tmp_path / "gate", tmp_path / "published", "e2e-offline-fresh")
    try:
        # The gate reports the bundle's list (nothing fetched, nothing to fetch), fresh.
        health = gate.healthz()
        assert health["status"] == "ok", health
        assert [(l["uri"], l["stale"], l["last_fetch_failed"]) for l in health["status_lists"]] == [
            ("http://127.0.0.1:9/status/1", False, False)], health
        assert_allowed(gate.verify(phone.show(cred.id)), offline_hr, row)
    finally:
        gate.stop()


def test_offline_bundle_beyond_staleness_denies_status_unknown(tmp_path, offline_hr, phone):
    row, cred, _ = onboard(offline_hr, phone)
    # Published two hours ago with a one-hour staleness: its status lists may no longer be relied on.
    offline_hr.publish(tmp_path / "published", "--max-staleness-hours", "1", now=time.time() - 2 * 3600)
    gate = bundle_gate(tmp_path / "gate", tmp_path / "published", "e2e-offline-stale")
    try:
        assert_denied(gate.verify(phone.show(cred.id)), "status_unknown", "unknown")
        # /healthz judges the bundle's list by the same (bundle's, stricter) limit.
        health = gate.healthz()
        assert health["status"] == "degraded", health
        assert [(l["uri"], l["stale"]) for l in health["status_lists"]] == [
            ("http://127.0.0.1:9/status/1", True)], health
    finally:
        gate.stop()
