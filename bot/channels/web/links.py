"""Public URLs of web surveys."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from bot.channels.web.link_params import PARAM, sign_link_params
from bot.tokens import TokenKind, TokenSigner
from storage.records import Invitation


class LinkBuilder:
    def __init__(self, base_url: str, signer: TokenSigner) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer

    def invitation_url(self, invitation: Invitation) -> str:
        """The personal link of one invitation (for the shop's own e-mail or SMS)."""
        return f"{self.base_url}/s/{invitation.token}"

    def open_survey_url(
        self,
        touchpoint: str,
        properties: Mapping[str, str] | None = None,
        audience: str | None = None,
    ) -> str:
        """One link for everyone (a QR code at an event's exit): each browser gets its own response."""
        url = f"{self.base_url}/s/{self.signer.sign(TokenKind.OPEN_SURVEY, touchpoint)}"
        params = sign_link_params(self.signer, touchpoint, properties, audience)
        return f"{url}?{urlencode({PARAM: params})}" if params else url
