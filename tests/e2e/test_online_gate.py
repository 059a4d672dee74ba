"""An online gate (did:web trust, status list fetched from HR's host) deciding on codes that phones
render as PNGs: allow, revoked, suspended then reinstated, expired, replayed, untrusted issuer."""

import time

from conftest import DAY, assert_allowed, assert_denied, jwt_part, onboard, show_with_clock_behind


def test_allow_discloses_exactly_the_entry_profile(hr, gate, phone):
    row, cred, _ = onboard(hr, phone)
    assert cred.employee_number == row["employee_number"] and cred.status_list_uri.startswith("http://127.0.0.1:")
    decision = gate.verify(phone.show(cred.id))
    assert_allowed(decision, hr, row)
    assert decision["mode"] == "rotating" and decision["gate"] == "e2e-online"


def test_revoked_after_publish(hr, hr_host, gate, phone):
    row, cred, _ = onboard(hr, phone)
    assert_allowed(gate.verify(phone.show(cred.id)), hr, row)

    hr.run("revoke", row["employee_number"], "--reason", "left the ministry")
    hr.publish(hr_host.root)
    hr_host.wait_refetched("/status/1", since=hr_host.count("/status/1"))
    assert_denied(gate.verify(phone.show(cred.id)), "revoked", "revoked")


def test_suspended_then_reinstated(hr, hr_host, gate, phone):
    row, cred, _ = onboard(hr, phone)
    number = row["employee_number"]

    hr.run("suspend", number, "--reason", "under investigation")
    hr.publish(hr_host.root)
    hr_host.wait_refetched("/status/1", since=hr_host.count("/status/1"))
    assert_denied(gate.verify(phone.show(cred.id)), "suspended", "suspended")

    hr.run("reinstate", number)
    hr.publish(hr_host.root)
    hr_host.wait_refetched("/status/1", since=hr_host.count("/status/1"))
    assert_allowed(gate.verify(phone.show(cred.id)), hr, row)


def test_expired(hr, gate, phone):
    # HR issued it three days ago for one day (GOVID_ISSUER_NOW), so it expired two days ago. The
    # wallet refuses to present an expired ID, so the phone that shows it has a clock three days
    # behind (libfaketime on the phone's process): its code is built, and the gate, on the real
    # clock, denies it as expired.
    three_days_ago = time.time() - 3 * DAY
    row, _, path = onboard(hr, phone, "--max-days", "1", now=three_days_ago)
    with open(path, encoding="utf-8") as f:
        exp = jwt_part(f.read(), 1)["exp"]
    assert exp == int(three_days_ago) + DAY
    scanned = show_with_clock_behind(phone, hr, path, behind_secs=3 * DAY - 120)
    assert_denied(gate.verify(scanned), "expired")


def test_replayed_code_is_denied(hr, gate, phone):
    row, cred, _ = onboard(hr, phone)
    scanned = phone.show(cred.id)
    assert_allowed(gate.verify(scanned), hr, row)
    assert_denied(gate.verify(scanned), "replayed", "valid")


def test_the_gate_log_keeps_each_decision(hr, gate, phone):
    # What the guard's supervisor reads back (on PostgreSQL, from the gate's database once its
    # spool is delivered): one entry per answer, in order, the replay tied to the same credential.
    row, cred, _ = onboard(hr, phone)
    scanned = phone.show(cred.id)
    assert_allowed(gate.verify(scanned), hr, row)
    assert_denied(gate.verify(scanned), "replayed", "valid")
    replayed, allowed = gate.entries(limit=2)
    assert (allowed["decision"], allowed["reason"], allowed["credential_status"]) == ("allow", "ok", "valid"), allowed
    assert (replayed["decision"], replayed["reason"]) == ("deny", "replayed"), replayed
    for entry in (allowed, replayed):
        assert entry["gate"] == "e2e-online" and entry["issuer"] == hr.did, entry
    assert allowed["credential_hash"] and replayed["credential_hash"] == allowed["credential_hash"], (allowed,
                                                                                                      replayed)
    assert allowed["time"] <= replayed["time"], (allowed, replayed)


def test_untrusted_issuer(tmp_path, hr, gate, phone, make_issuer):
    # Another office, set up exactly like the trusted one; its ID is genuine but the gate does not
    # trust its DID.
    rogue = make_issuer(tmp_path / "rogue", "Unknown Agency HR", "hr.rogue.example", "UNK", "http://127.0.0.1:9/status")
    row, cred, _ = onboard(rogue, phone)
    assert cred.issuer == rogue.did
    assert_denied(gate.verify(phone.show(cred.id)), "untrusted_issuer")
