"""Public URLs of web surveys and Telegram deep links."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from bot.link_params import PARAM, sign_link_params
from bot.tokens import TokenKind, TokenSigner, encode_id
from storage.records import Invitation


class LinkBuilder:
    def __init__(self, base_url: str, signer: TokenSigner, telegram_bot: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.telegram_bot = telegram_bot

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

    def ref_link(self, contact_id: int) -> str:
        """A personal Telegram link (for an order confirmation) that ties a `ref:` contact to the
        chat that opens it, so its surveys can reach the customer there."""
        return self.telegram_link(TokenKind.LINK_REF, encode_id(contact_id))

    def invitation_links(self, invitation: Invitation) -> dict[str, str]:
        """What an upstream system can hand its customer for one invitation."""
        found: dict[str, str] = {}
        if invitation.token:
            found["survey_url"] = self.invitation_url(invitation)
        if invitation.channel is None and invitation.contact_id is not None and self.telegram_bot:
            found["telegram_link"] = self.ref_link(invitation.contact_id)
        return found

    def telegram_link(self, kind: TokenKind, value: str) -> str:
        if not self.telegram_bot:
            raise ValueError("set [telegram] bot_username to build Telegram links")
        return f"https://t.me/{self.telegram_bot}?start={self.signer.sign(kind, value)}"
