"""When a QR round trip goes wrong, the PNG, the payload and the text read are kept for diagnosis,
and the failure names them."""

import os

import pytest

import conftest
from conftest import g, zbar_decode


def test_a_round_trip_that_differs_keeps_what_is_needed_to_diagnose_it(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "QR_MISMATCH_DIR", str(tmp_path / "kept"))
    png = tmp_path / "code.png"
    png.write_bytes(g.qr_png("GV1:HELLO GATE", 4, g.QrEcc.M))
    assert zbar_decode(str(png), expected="GV1:HELLO GATE") == "GV1:HELLO GATE"

    with pytest.raises(pytest.fail.Exception) as failed:
        zbar_decode(str(png), expected="GV1:SOMETHING ELSE")
    assert "read 14 characters of other text" in str(failed.value)
    kept = sorted(os.listdir(tmp_path / "kept"))
    assert len(kept) == 3, kept
    base = next(k for k in kept if k.endswith(".png"))
    assert (tmp_path / "kept" / (base + ".payload.txt")).read_text() == "GV1:SOMETHING ELSE"
    assert (tmp_path / "kept" / (base + ".read.txt")).read_text().strip() == "GV1:HELLO GATE"
    assert (tmp_path / "kept" / base).read_bytes() == png.read_bytes()

    blank = tmp_path / "blank.png"
    blank.write_bytes(g.qr_png("GV1:X", 4, g.QrEcc.M)[:60])  # a truncated image: nothing to read
    with pytest.raises(pytest.fail.Exception) as failed:
        zbar_decode(str(blank), expected="GV1:X")
    assert "read nothing" in str(failed.value)
