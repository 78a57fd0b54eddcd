"""The web channel: customers answer at a link in any browser; pages pull each question."""

from __future__ import annotations

from functools import cached_property

from aiohttp import web

from bot.channels.base import Button, Channel, Limits, OutgoingPrompt, permanent_failure
from bot.channels.context import AnswerServices, ChannelContext
from bot.channels.web.links import LinkBuilder
from bot.channels.web.pages import SurveyPages, announce, routes, survey_pages
from bot.tokens import TokenSigner
from storage.records import Invitation


class WebChannel(Channel):
    name = "web"
    limits = Limits(per_second=1000, burst=1000, per_chat_per_second=1000, per_chat_burst=1000)
    pushes_prompts = False

    def __init__(self, context: ChannelContext) -> None:
        super().__init__()
        self.context = context

    @cached_property
    def pages(self) -> SurveyPages:
        answers = self._answers()
        return survey_pages(answers, self.context.signer, self.context.clock)

    def http_routes(self) -> list[web.AbstractRouteDef]:
        return routes(self.pages, self._answers().config.organisation)

    def links(self) -> LinkBuilder:
        """Links on the address the server really listens on (port 0 becomes the one it got)."""
        return LinkBuilder(self.context.base_url(), self.context.signer)

    def invitation_links(self, invitation: Invitation, signer: TokenSigner) -> dict[str, str]:
        """The personal survey link (for the shop's own e-mail or SMS)."""
        return {"survey_url": self.links().invitation_url(invitation)} if invitation.token else {}

    def announce(self) -> list[str]:
        return announce(self.links(), self._answers().config.storage.path)

    async def start(self) -> None:
        """Pages are served by palaute's HTTP server (already listening): say where."""
        self.announce()

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        raise permanent_failure("a web respondent cannot be messaged; they answer at their link")

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        raise permanent_failure("a web respondent cannot be messaged; they answer at their link")

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        raise permanent_failure("a web respondent cannot be messaged; they answer at their link")

    def _answers(self) -> AnswerServices:
        if self.context.answers is None:
            raise RuntimeError("the web channel needs palaute's answer services")
        return self.context.answers()


def build(context: ChannelContext) -> WebChannel:
    """The adapter as the app builds it (named by the spec: bot/channels/web/spec.py)."""
    return WebChannel(context)
