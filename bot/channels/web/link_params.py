"""What an open survey link carries besides its touchpoint: properties and an audience, signed.

They travel in the link itself (`?p=…`) so that printing a QR code needs no database row, and
the signature covers the touchpoint too, so parameters cannot be moved to another link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.tokens import TokenSigner

PARAM = "p"
_PURPOSE = "link"
MAX_LENGTH = 1024


class InvalidLinkParams(ValueError):
    pass


@dataclass(frozen=True)
class LinkParams:
    properties: Mapping[str, str] = field(default_factory=dict)
    audience: str | None = None
    raw: str = ""
    """The signed form as it appeared in the link ("" when the link has none)."""

    @property
    def digest(self) -> str:
        """A short fingerprint: two links with different properties are different surveys."""
        return hashlib.sha256(self.raw.encode()).hexdigest()[:12] if self.raw else "-"


def sign_link_params(
    signer: TokenSigner,
    touchpoint: str,
    properties: Mapping[str, str] | None = None,
    audience: str | None = None,
) -> str | None:
    """The `p` query value for these parameters, or None when there are none."""
    data: dict[str, object] = {}
    if properties:
        data["p"] = dict(sorted(properties.items()))
    if audience:
        data["a"] = audience
    if not data:
        return None
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(compact).decode().rstrip("=")
    return f"{payload}.{signer.mac(_PURPOSE, f'{touchpoint}:{payload}')}"


def read_link_params(signer: TokenSigner, touchpoint: str, raw: str | None) -> LinkParams:
    """Check and decode a `p` query value; raises InvalidLinkParams if forged or malformed."""
    if not raw:
        return LinkParams()
    if len(raw) > MAX_LENGTH or raw.count(".") != 1:
        raise InvalidLinkParams("link parameters are malformed")
    payload, signature = raw.split(".")
    if not signer.check_mac(_PURPOSE, f"{touchpoint}:{payload}", signature):
        raise InvalidLinkParams("link parameters are not signed by this palaute")
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as error:
        raise InvalidLinkParams(f"link parameters do not decode: {error}") from None
    properties = data.get("p", {}) if isinstance(data, dict) else None
    audience = data.get("a") if isinstance(data, dict) else None
    if not isinstance(properties, dict) or not isinstance(audience, str | None):
        raise InvalidLinkParams("link parameters have the wrong shape")
    return LinkParams({str(k): str(v) for k, v in properties.items()}, audience, raw)
