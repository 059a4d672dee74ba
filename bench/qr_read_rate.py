#!/usr/bin/env python3
"""Reads the gate codes written by `core/examples/qr_read_codes.rs` with two independent QR
decoders, zbar (`zbarimg`, Debian's zbar-tools) and ZXing (`zxing-cpp` from PyPI), and counts
for each: read exactly, read as other text, not read. Every code that a decoder reads wrong is
kept (PNG, payload, text read) in DIR/mismatch/ for diagnosis.

    python3 bench/qr_read_rate.py DIR [--zbar-all-symbologies]

By default zbarimg looks for QR codes only (`-Sdisable -Sqrcode.enable`), as the demo and the
e2e suite now call it; --zbar-all-symbologies uses zbarimg's default of every symbology, which
is how they called it before.
"""
import os
import shutil
import subprocess
import sys

import zxingcpp
from PIL import Image


def zbar(png, all_symbologies):
    args = ["zbarimg", "--raw", "-q"]
    if not all_symbologies:
        args += ["-Sdisable", "-Sqrcode.enable"]
    out = subprocess.run(args + [png], capture_output=True)
    return out.stdout.decode("utf-8", "replace").rstrip("\n")


def zxing(png):
    found = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
    return "\n".join(b.text for b in found)


def main():
    directory = sys.argv[1]
    all_symbologies = "--zbar-all-symbologies" in sys.argv[2:]
    names = sorted(
        (f[:-4] for f in os.listdir(directory) if f.endswith(".png")), key=lambda s: int(s)
    )
    counts = {d: {"exact": 0, "other text": 0, "not read": 0} for d in ("zbar", "zxing")}
    mismatch = os.path.join(directory, "mismatch")
    for name in names:
        png = os.path.join(directory, name + ".png")
        with open(os.path.join(directory, name + ".txt"), encoding="ascii") as f:
            payload = f.read()
        for decoder, read in (("zbar", zbar(png, all_symbologies)), ("zxing", zxing(png))):
            if read == payload:
                counts[decoder]["exact"] += 1
                continue
            counts[decoder]["not read" if not read else "other text"] += 1
            os.makedirs(mismatch, exist_ok=True)
            shutil.copy(png, os.path.join(mismatch, name + ".png"))
            shutil.copy(os.path.join(directory, name + ".txt"), os.path.join(mismatch, name + ".txt"))
            with open(os.path.join(mismatch, f"{name}.{decoder}.read"), "w", encoding="utf-8") as f:
                f.write(read)
    print(f"{len(names)} codes in {directory}")
    for decoder, c in counts.items():
        print(f"  {decoder:6} exact {c['exact']}, other text {c['other text']}, not read {c['not read']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
