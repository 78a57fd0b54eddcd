"""QR codes of survey and check-in links, as PNG (to print) or SVG (to scale in a layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qrcode
from qrcode.constants import ERROR_CORRECT_M

FORMATS = (".png", ".svg")
PNG_BOX_PIXELS = 20
"""Pixels per module: a typical link prints sharp at 8 cm and more."""


class QrError(ValueError):
    pass


def _png_factory() -> Any:
    try:
        from qrcode.image.pil import PilImage

        return PilImage
    except ImportError:
        pass
    try:
        import png  # noqa: F401  (PyPNG, what the pure factory needs)
        from qrcode.image.pure import PyPNGImage

        return PyPNGImage
    except ImportError:
        raise QrError("writing PNG needs pillow or pypng installed; or write an .svg") from None


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the code, border included (what the image files draw)."""
    code = _code(data)
    return [list(row) for row in code.get_matrix()]


def _code(data: str, box_size: int = PNG_BOX_PIXELS) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def write_qr(data: str, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise QrError(f"{path}: write the QR code as .png or .svg")
    if suffix == ".svg":
        from qrcode.image.svg import SvgPathFillImage

        image = _code(data).make_image(image_factory=SvgPathFillImage)
    else:
        image = _code(data).make_image(image_factory=_png_factory())
    try:
        with path.open("wb") as handle:
            image.save(handle)
    except OSError as error:
        raise QrError(f"cannot write {path}: {error.strerror}") from None
