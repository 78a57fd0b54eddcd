"""The web channel: customers answer at a link in any browser; pages pull each question."""

from __future__ import annotations

from bot.channels.base import Button, Channel, Limits, OutgoingPrompt, permanent_failure


class WebChannel(Channel):
    name = "web"
    limits = Limits(per_second=1000, burst=1000, per_chat_per_second=1000, per_chat_burst=1000)
    pushes_prompts = False

    async def start(self) -> None:
        """Pages are served by palaute's HTTP server; nothing to connect to."""

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
