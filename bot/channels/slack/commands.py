"""`/palaute` for organizers in Slack: send a survey, see the scores, get help.

The Slack glue around bot.team.organizer, which does the work: parsing the slash command, finding
the people a Slack target names (a user, an email, a channel's or user group's members),
who is an organizer (`[slack] admins`: user ids, or user groups S…), and the answer in
mrkdwn and Block Kit. Replies are ephemeral (through the command's response_url). Sending is
confirmed first: the organizer sees how many people will be asked and how many are
suppressed, and why, before anything is stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
from collections.abc import Awaitable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.channels.base import Channel
from bot.channels.slack.blocks import escape_mrkdwn
from bot.channels.slack.channel import COMMAND, SlackChannel
from bot.channels.slack.errors import SLACK_UNAVAILABLE
from bot.delivery.triggers import ContactSpec, TriggerError, describe_due
from bot.durations import format_duration
from bot.team.organizer import (
    Confirmation,
    NoSuchAudience,
    NotASurveyOrWindow,
    Organizer,
    Outcome,
    Recipients,
    SendRequest,
)
from bot.team.reports.format import format_rate, score_row_headline
from bot.team.scores import ScoreRow

log = logging.getLogger(__name__)
T = TypeVar("T")

SEND_ACTION = "palaute_send_confirm"
CANCEL_ACTION = "palaute_send_cancel"
LOOKUPS_AT_ONCE = 8

_USER = re.compile(r"^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]{2,}))$")
_CHANNEL = re.compile(r"^(?:<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|([CG][A-Z0-9]{2,}))$")
_USER_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^(?:<mailto:([^|>]+)(?:\|[^>]*)?>|([^\s<>@]+@[^\s<>@]+\.[^\s<>@]+))$")
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


def parse_send(words: list[str]) -> SendRequest:
    """`<touchpoint> <target> [key=value …]`."""
    if len(words) < 2:
        raise CommandError(f"Usage: {SEND_USAGE}")
    properties: dict[str, str] = {}
    for word in words[2:]:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise CommandError(f"{code(word)} is not a property: write it as key=value")
        properties[key] = value
    return SendRequest(words[0], words[1], properties)


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
    parts = [f"*{escape_mrkdwn(row.survey)}*: {score_row_headline(row) or 'no score'}"]
    parts.append(f"n={row.n}")
    if row.response_rate is not None:
        parts.append(f"response rate {format_rate(row.response_rate)}")
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
    def __init__(self, organizer: Organizer, channel: SlackChannel) -> None:
        self.organizer = organizer
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
                    await self.preview(parse_send(words[1:]), user_id, respond)
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
        request = await self.organizer.confirm(token, click=click)
        if request is Confirmation.ALREADY_SENT:
            await reply(respond, "This send was already confirmed: nothing was sent twice.")
            return
        if not isinstance(request, SendRequest):
            await reply(respond, "This send has expired: run `/palaute send` again.")
            return
        try:
            recipients = await self.recipients(request.target)
            outcome = await self.organizer.send(request, recipients, channel="slack")
        except CommandError as error:
            await self.organizer.release(token)
            await reply(respond, str(error), replace_original=True)
            return
        except SLACK_UNAVAILABLE as error:
            # Confirmable again; what was stored is not stored twice (the idempotency keys).
            await self.organizer.release(token)
            await reply(respond, trouble_reply(error))
            return
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
        outcome = await self.organizer.preview(request, recipients)
        lines = [
            f"*Send {code(request.touchpoint)} to {recipients.label}?*",
            f"• {len(outcome.asked)} will be asked{self._when(outcome)}",
            *_held_back_lines(outcome),
        ]
        if recipients.left_out:
            lines.append(f"• {recipients.left_out} bot(s) or deactivated account(s) left out")
        blocks: list[dict[str, Any]] = [_section("\n".join(lines))]
        if outcome.asked:
            value = await self.organizer.keep(request, channel="slack", requested_by=user_id)
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

    def validate(self, request: SendRequest) -> None:
        try:
            self.organizer.validate(request, "slack")
        except TriggerError as error:
            hint = ""
            if error.field.startswith("properties."):
                hint = (
                    f" Add {code(error.field.removeprefix('properties.') + '=…')} to the command."
                )
            raise CommandError(f"{escape_mrkdwn(error.message)}.{hint}") from None

    def _when(self, outcome: Outcome) -> str:
        first = outcome.first_due
        if first is None:
            return ""
        if self.organizer.starts_now(first):
            return " now"
        return f", from {describe_due(first, self.organizer.config.team.timezone)}"

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
        try:
            contacts = await self.organizer.audience(name)
        except NoSuchAudience as missing:
            known = ", ".join(code(n) for n in missing.known)
            raise CommandError(
                f"There is no audience {code(name)} with members"
                + (f" (audiences: {known})." if known else ".")
                + f"\nUsage: {SEND_USAGE}"
            ) from None
        return Recipients(f"the audience {code(name)}", contacts)

    # ------------------------------------------------------------------ scores and help

    async def scores(self, args: list[str]) -> str:
        try:
            query = self.organizer.scores_query(args)
        except NotASurveyOrWindow as problem:
            surveys = ", ".join(code(s) for s in problem.surveys)
            raise CommandError(
                f"{code(problem.word)} is neither a survey ({surveys}) nor a window such as "
                "`7d` or `30d`."
            ) from None
        rows = await self.organizer.scores(query)
        title = f"*Scores over the last {describe_window(query.window)}*"
        if not rows:
            return f"{title}\nNo answers yet."
        min_n = self.organizer.config.team.min_n
        return "\n".join([title, *(score_line(row, min_n) for row in rows)])

    async def help(self, user_id: str) -> str:
        lines = [
            "*palaute* asks short feedback surveys.",
            "`/palaute stop`: no more surveys for you",
            "`/palaute start`: surveys back on",
            "`/palaute delete`: erase your answers",
        ]
        if await self.is_admin(user_id):
            lines += [
                "",
                f"{SEND_USAGE}: survey people; you confirm first",
                "`/palaute scores [survey] [window]`: rolling scores, e.g. `/palaute scores nps 7d`",
                "Touchpoints: " + ", ".join(code(t) for t in self.organizer.touchpoints()),
            ]
        return "\n".join(lines)


def register(channel: Channel, organizer: Organizer) -> None:
    """`/palaute send|scores|help` for `[slack] admins` (named by the spec: slack/spec.py)."""
    assert isinstance(channel, SlackChannel)
    OrganizerCommands(organizer, channel).register(channel.bolt)
