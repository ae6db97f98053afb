"""A VietQR payload drawn as a PNG (segno: pure Python, no image library needed)."""
from __future__ import annotations

import io

import segno


def payload_png(payload: str, scale: int = 6) -> bytes:
    """The payload as a QR code (byte mode, error correction M as banking apps scan it) in PNG."""
    code = segno.make_qr(payload, error="m", mode="byte", boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
