"""`/palaute` for organizers in Slack: send a survey, see the scores, get help.

Replies are ephemeral (through the command's response_url). Sending is confirmed first: the
organizer sees how many people will be asked and how many are suppressed, and why, before
anything is stored. Only `[slack] admins` (user ids, or user groups S…) may send or see scores.
The send waiting for its confirmation is kept in the database (storage.pending_sends): the
button carries only its token, survives a restart, and sends once however often it is pressed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shlex
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.channels.slack.blocks import escape_mrkdwn
from bot.channels.slack.channel import COMMAND, SlackChannel
from bot.channels.slack.errors import SLACK_UNAVAILABLE
from bot.clock import Clock
from bot.durations import format_duration, parse_duration
from bot.reports.format import format_uncertainty
from bot.scores import ScoreRow, live_as_of, rolling_scores
from bot.triggers import ContactSpec, TriggerError, TriggerRequest, TriggerResult, describe_due
from storage.records import InvitationState

if TYPE_CHECKING:
    from bot.config import Config
    from bot.scheduling import InvitationScheduler
    from bot.triggers import TriggerService
    from storage.store import Store


class OrganizerServices(Protocol):
    """What the organizers' commands use of palaute (the app provides it)."""

    store: Store
    config: Config
    clock: Clock
    triggers: TriggerService
    invitations: InvitationScheduler


log = logging.getLogger(__name__)
T = TypeVar("T")

PENDING_FOR = timedelta(days=1)
"""How long a send waits for its confirmation (the preview's response_url lasts 30 minutes,
but the button stays in the organizer's channel)."""
SEND_ACTION = "palaute_send_confirm"
CANCEL_ACTION = "palaute_send_cancel"
LOOKUPS_AT_ONCE = 8

_USER = re.compile(r"^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]{2,}))$")
_CHANNEL = re.compile(r"^(?:<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|([CG][A-Z0-9]{2,}))$")
_USER_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^(?:<mailto:([^|>]+)(?:\|[^>]*)?>|([^\s<>@]+@[^\s<>@]+\.[^\s<>@]+))$")
_RECENTLY = re.compile(r"^surveyed \S+ before")
_CUT_ENTITY = re.compile(r"&[a-z]{0,3}$")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})

SEND_USAGE = escape_mrkdwn(
    "`/palaute send <touchpoint> <audience | @person | #channel | email> [key=value …]`"
)


def code(text: str) -> str:
    """`text` (an organizer's word, a name from the config) shown as code, never as markup:
    replies are mrkdwn, where `<!here>` would notify a channel."""
    return f"`{escape_mrkdwn(text)}`"


class CommandError(Exception):
    """A problem to show the organizer, as is."""


@dataclass(frozen=True)
class SendRequest:
    touchpoint: str
    target: str
    properties: dict[str, str] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_hex(6))

    @classmethod
    def parse(cls, words: list[str]) -> SendRequest:
        if len(words) < 2:
            raise CommandError(f"Usage: {SEND_USAGE}")
        properties: dict[str, str] = {}
        for word in words[2:]:
            key, equals, value = word.partition("=")
            if not equals or not key:
                raise CommandError(f"{code(word)} is not a property: write it as key=value")
            properties[key] = value
        return cls(words[0], words[1], properties)

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.touchpoint, "to": self.target, "p": self.properties, "n": self.nonce}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SendRequest:
        return cls(str(data["t"]), str(data["to"]), dict(data.get("p") or {}), str(data["n"]))


@dataclass
class Recipients:
    label: str
    contacts: list[ContactSpec]
    left_out: int = 0
    """Bots and deactivated accounts in a channel or group."""


@dataclass
class Outcome:
    """What a send did, or would do."""

    asked: list[TriggerResult] = field(default_factory=list)
    held_back: Counter[str] = field(default_factory=Counter)

    def add(self, result: TriggerResult) -> None:
        invitation = result.invitation
        if invitation.state is InvitationState.SCHEDULED:
            self.asked.append(result)
        else:
            reason = _RECENTLY.sub("surveyed recently", invitation.reason or invitation.state)
            self.held_back[reason] += 1


NOT_LISTED = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "no_such_subteam",
        "method_not_supported_for_channel_type",
    }
)
"""conversations.members / usergroups.users.list errors that mean palaute cannot see it."""


def slack_problem(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return type(error).__name__


def trouble_reply(error: Exception) -> str:
    problem = slack_problem(error)
    if problem in ("ratelimited", "rate_limited"):
        return (
            "Slack is limiting how fast palaute may look people up; please try again in a minute."
        )
    return f"Slack did not answer ({escape_mrkdwn(problem)}); please try again."


def describe_window(window: timedelta) -> str:
    days, rest = divmod(int(window.total_seconds()), 86400)
    if rest or not days:
        return format_duration(window)
    return "day" if days == 1 else f"{days} days"


def words_of(text: str) -> list[str]:
    try:
        return shlex.split(text.translate(_QUOTES))
    except ValueError as error:
        raise CommandError(f"Could not read the command: {escape_mrkdwn(str(error))}") from None


def score_line(row: ScoreRow, min_n: int) -> str:
    if row.nps is not None:
        score = f"NPS {row.nps:+.0f}"
    elif row.csat is not None:
        score = f"CSAT {row.csat:.0f}%"
    elif row.ces is not None:
        score = f"CES {row.ces:.2f}"
    elif row.questions and row.questions[0].value is not None:
        score = f"mean {row.questions[0].value:.2f}"
    else:
        score = "no score"
    parts = [f"*{escape_mrkdwn(row.survey)}*: {score}"]
    headline = row.headline_score
    if headline is not None and headline.margin_of_error is not None:
        parts.append(format_uncertainty(headline))
    parts.append(f"n={row.n}")
    if row.response_rate is not None:
        parts.append(f"response rate {row.response_rate:.0%}")
    line = "  ".join(parts)
    return line + "  _(few answers)_" if row.n < min_n else line


def _held_back_lines(outcome: Outcome) -> list[str]:
    return [
        f"• {n} not asked: {escape_mrkdwn(reason)}" for reason, n in outcome.held_back.most_common()
    ]


async def reply(respond: AsyncRespond, text: str, **fields: Any) -> None:
    """Answer through the response_url. Slack answers a refusal with an HTTP error and its
    reason (`invalid_blocks`, `used_url_too_many_times`…): logged, and a reply with blocks is
    told again as plain text, so that the organizer is never left without an answer."""
    response = await respond(text=text, **fields)
    if response.status_code == 200:
        return
    log.warning("Slack refused a /palaute reply: HTTP %s %s", response.status_code, response.body)
    if "blocks" not in fields:
        return
    plain = {key: value for key, value in fields.items() if key != "blocks"}
    note = f"\n\n_Slack refused this reply ({escape_mrkdwn(str(response.body))})._"
    again = await respond(text=text + note, **plain)
    if again.status_code != 200:
        log.warning("Slack refused it as text too: HTTP %s %s", again.status_code, again.body)


def _section(markdown: str) -> dict[str, Any]:
    if len(markdown) > 3000:  # a section's limit; not in the middle of an `&amp;`
        markdown = _CUT_ENTITY.sub("", markdown[:2999]) + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


class OrganizerCommands:
    def __init__(self, app: OrganizerServices, channel: SlackChannel) -> None:
        self.app = app
        self.channel = channel
        self.directory = channel.directory
        self.admins = channel.config.admins

    def register(self, bolt: AsyncApp) -> None:
        # Registered after the channel's own `/palaute stop|start|delete` listener: bolt runs
        # the first listener that matches, so this one takes every other subcommand.
        bolt.command(COMMAND)(self.on_command)
        bolt.action(SEND_ACTION)(self.on_confirm)
        bolt.action(CANCEL_ACTION)(self.on_cancel)

    # ------------------------------------------------------------------ listeners

    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user_id = str(command["user_id"])
        try:
            words = words_of(str(command.get("text") or ""))
            name = words[0].lower() if words else "help"
            if name == "help":
                await reply(respond, await self.help(user_id))
            elif name in ("send", "scores"):
                await self.require_admin(user_id)
                if name == "send":
                    await self.preview(SendRequest.parse(words[1:]), user_id, respond)
                else:
                    await reply(respond, await self.scores(words[1:]))
            else:
                await reply(
                    respond, f"I don't know {code(words[0])}.\n\n{await self.help(user_id)}"
                )
        except CommandError as error:
            await reply(respond, str(error))
        except SLACK_UNAVAILABLE as error:
            await reply(respond, trouble_reply(error))

    async def on_confirm(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        token = str(action.get("value") or "")
        try:
            await self.require_admin(str(body["user"]["id"]))
        except CommandError as error:
            await reply(respond, str(error))
            return
        # One click is one trigger_id; the inbox runs a click again after a crash, which may
        # then finish what it started (the idempotency keys keep what was stored from doubling).
        click = str(body.get("trigger_id") or action.get("action_ts") or "")
        now = self.app.clock.now()
        pending = await self.app.store.pending_sends.confirm(
            token, click=click, now=now, newer_than=now - PENDING_FOR.total_seconds()
        )
        if pending is None:
            if await self.app.store.pending_sends.state(token) == "confirmed":
                await reply(respond, "This send was already confirmed: nothing was sent twice.")
            else:
                await reply(respond, "This send has expired: run `/palaute send` again.")
            return
        request = SendRequest.from_dict(pending.request)
        try:
            recipients = await self.recipients(request.target)
            outcome = await self.run(
                request,
                recipients,
                lambda trigger: self.app.triggers.trigger(
                    replace(
                        trigger,
                        idempotency_key=f"slack-send:{request.nonce}:{trigger.contact.label}",
                    )
                ),
            )
        except CommandError as error:
            await self.app.store.pending_sends.release(token)
            await reply(respond, str(error), replace_original=True)
            return
        except SLACK_UNAVAILABLE as error:
            # Confirmable again; what was stored is not stored twice (the idempotency keys).
            await self.app.store.pending_sends.release(token)
            await reply(respond, trouble_reply(error))
            return
        # Start what is due now at once: a tick already running when the first invitations
        # were stored would otherwise leave the rest to the next one.
        await self.app.invitations.tick()
        lines = [
            f"*Sent {code(request.touchpoint)} to {recipients.label}*",
            f"• {len(outcome.asked)} will be asked",
            *_held_back_lines(outcome),
        ]
        await reply(respond, "\n".join(lines), replace_original=True)

    async def on_cancel(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await reply(respond, "Cancelled: nothing was sent.", replace_original=True)

    # ------------------------------------------------------------------ who may

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self.admins:
            return True
        for group in (a for a in self.admins if a.startswith("S")):
            try:
                if user_id in await self.directory.usergroup_members(group):
                    return True
            except SLACK_UNAVAILABLE as error:
                log.warning("could not list Slack user group %s: %s", group, slack_problem(error))
        return False

    async def require_admin(self, user_id: str) -> None:
        if not await self.is_admin(user_id):
            raise CommandError(
                "Sorry, only palaute's organizers can send surveys and see scores. "
                f"Ask one to add your Slack user id `{user_id}` to `[slack] admins` "
                "in palaute's config."
            )

    # ------------------------------------------------------------------ send

    async def preview(self, request: SendRequest, user_id: str, respond: AsyncRespond) -> None:
        self.validate(request)
        recipients = await self.recipients(request.target)
        outcome = await self.run(request, recipients, self.app.triggers.preview)
        lines = [
            f"*Send {code(request.touchpoint)} to {recipients.label}?*",
            f"• {len(outcome.asked)} will be asked{self._when(outcome)}",
            *_held_back_lines(outcome),
        ]
        if recipients.left_out:
            lines.append(f"• {recipients.left_out} bot(s) or deactivated account(s) left out")
        blocks: list[dict[str, Any]] = [_section("\n".join(lines))]
        if outcome.asked:
            value = await self._keep(request, user_id)
            blocks.append(
                {
                    "type": "actions",
                    "block_id": "palaute_send",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": SEND_ACTION,
                            "style": "primary",
                            "text": {"type": "plain_text", "text": f"Send to {len(outcome.asked)}"},
                            "value": value,
                        },
                        {
                            "type": "button",
                            "action_id": CANCEL_ACTION,
                            "text": {"type": "plain_text", "text": "Cancel"},
                            "value": "cancel",
                        },
                    ],
                }
            )
        await reply(respond, "\n".join(lines), blocks=blocks)

    async def _keep(self, request: SendRequest, user_id: str) -> str:
        """Store the send until it is confirmed; its token is the confirm button's value."""
        pending = self.app.store.pending_sends
        now = self.app.clock.now()
        await pending.prune(now - PENDING_FOR.total_seconds())
        token = secrets.token_urlsafe(16)
        await pending.create(
            token, channel="slack", requested_by=user_id, request=request.to_dict(), now=now
        )
        return token

    def validate(self, request: SendRequest) -> None:
        try:
            self.app.triggers.validate(
                TriggerRequest(request.touchpoint, ContactSpec("slack", "U0"), request.properties)
            )
        except TriggerError as error:
            hint = ""
            if error.field.startswith("properties."):
                hint = (
                    f" Add {code(error.field.removeprefix('properties.') + '=…')} to the command."
                )
            raise CommandError(f"{escape_mrkdwn(error.message)}.{hint}") from None

    def _when(self, outcome: Outcome) -> str:
        if not outcome.asked:
            return ""
        first = min(outcome.asked, key=lambda r: r.invitation.due_at).invitation
        if first.due_at <= self.app.clock.now() + 60:
            return " now"
        return f", from {describe_due(first, self.app.config.team.timezone)}"

    async def run(
        self,
        request: SendRequest,
        recipients: Recipients,
        trigger: Callable[[TriggerRequest], Awaitable[TriggerResult]],
    ) -> Outcome:
        outcome = Outcome()
        for contact in recipients.contacts:
            try:
                outcome.add(
                    await trigger(TriggerRequest(request.touchpoint, contact, request.properties))
                )
            except TriggerError as error:
                outcome.held_back[error.message] += 1
        return outcome

    async def recipients(self, target: str) -> Recipients:
        if match := _USER.match(target):
            user_id = match.group(1) or match.group(2)
            return Recipients(f"<@{user_id}>", [ContactSpec("slack", user_id)])
        if match := _EMAIL.match(target):
            email = match.group(1) or match.group(2)
            return Recipients(escape_mrkdwn(email), [ContactSpec("slack", email)])
        if match := _CHANNEL.match(target):
            channel_id = match.group(1) or match.group(2)
            members = await self._listed(target, self.directory.channel_members(channel_id))
            return await self._people(f"everyone in <#{channel_id}>", members)
        if match := _USER_GROUP.match(target):
            group = match.group(1)
            members = sorted(await self._listed(target, self.directory.usergroup_members(group)))
            return await self._people(f"<!subteam^{group}>", members)
        if target.startswith(("@", "#")):
            raise CommandError(
                f"Slack passed {code(target)} on as plain text. Pick the person or channel from "
                "Slack's suggestions, or turn on “Escape channels, users, and links” for "
                "/palaute in the app's settings."
            )
        return await self._audience(target)

    async def _listed(self, target: str, listing: Awaitable[T]) -> T:
        """Members of a channel or user group; other trouble than not seeing it goes on up."""
        try:
            return await listing
        except SlackApiError as error:
            if slack_problem(error) not in NOT_LISTED:
                raise
            raise CommandError(
                f"Slack would not list {escape_mrkdwn(target)} ({slack_problem(error)}); "
                "palaute may have to be added to it first."
            ) from None

    async def _people(self, label: str, user_ids: Iterable[str]) -> Recipients:
        limit = asyncio.Semaphore(LOOKUPS_AT_ONCE)

        async def look_up(user_id: str) -> bool:
            async with limit:
                person = await self.directory.user(user_id, patient=True)
            return person is not None and person.can_be_surveyed

        ids = list(user_ids)
        surveyable = await asyncio.gather(*(look_up(u) for u in ids))
        contacts = [ContactSpec("slack", u) for u, ok in zip(ids, surveyable, strict=True) if ok]
        return Recipients(label, contacts, left_out=len(ids) - len(contacts))

    async def _audience(self, name: str) -> Recipients:
        members = await self.app.store.audiences.members(name)
        if not members:
            known = ", ".join(code(n) for n, _ in await self.app.store.audiences.names())
            raise CommandError(
                f"There is no audience {code(name)} with members"
                + (f" (audiences: {known})." if known else ".")
                + f"\nUsage: {SEND_USAGE}"
            )
        contacts = [
            ContactSpec(m.channel, m.address) if m.channel else ContactSpec(ref=m.ref)
            for m in members
        ]
        return Recipients(f"the audience {code(name)}", contacts)

    # ------------------------------------------------------------------ scores and help

    async def scores(self, args: list[str]) -> str:
        config = self.app.config
        survey_id: str | None = None
        window = timedelta(days=max(config.team.windows))
        for arg in args:
            if arg in config.surveys:
                survey_id = arg
                continue
            try:
                window = parse_duration(arg)
            except ValueError:
                surveys = ", ".join(code(s) for s in sorted(config.surveys))
                raise CommandError(
                    f"{code(arg)} is neither a survey ({surveys}) nor a window such as `7d` or `30d`."
                ) from None
        rows = await rolling_scores(
            self.app.store,
            config.surveys,
            now=live_as_of(self.app.clock.now(), config.team.timezone),  # up to today
            window=window,
            survey_id=survey_id,
            timezone=config.team.timezone,
        )
        title = f"*Scores over the last {describe_window(window)}*"
        if not rows:
            return f"{title}\nNo answers yet."
        return "\n".join([title, *(score_line(row, config.team.min_n) for row in rows)])

    async def help(self, user_id: str) -> str:
        lines = [
            "*palaute* asks short feedback surveys.",
            "`/palaute stop`: no more surveys for you",
            "`/palaute start`: surveys back on",
            "`/palaute delete`: erase your answers",
        ]
        if await self.is_admin(user_id):
            touchpoints = sorted({*self.app.config.touchpoints, *self.app.config.surveys})
            lines += [
                "",
                f"{SEND_USAGE}: survey people; you confirm first",
                "`/palaute scores [survey] [window]`: rolling scores, e.g. `/palaute scores nps 7d`",
                "Touchpoints: " + ", ".join(code(t) for t in touchpoints),
            ]
        return "\n".join(lines)
