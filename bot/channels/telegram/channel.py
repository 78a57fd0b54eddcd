"""The Telegram channel: surveys as chat messages with inline keyboards, on python-telegram-bot.

The Application only translates: its handlers turn updates into `Incoming` values, and the
send methods turn palaute's messages into Bot API calls. Updates reach it through the inbox
(intake.py), in polling mode from palaute's own getUpdates loop (`updater(None)`), in webhook
mode from palaute's HTTP server.

Pacing is the dispatcher's job: it knows Telegram's per-chat limit and which message is a
conversation reply, so the Application has no rate limiter of its own, and a 429 comes back to
the dispatcher as a temporary failure with Telegram's retry_after instead of being retried out
of its sight.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import ChatMigrated, InvalidToken, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.channels.base import (
    Button,
    Channel,
    Limits,
    OutgoingPrompt,
    temporary_failure,
)
from bot.channels.context import ChannelContext
from bot.channels.telegram import updates
from bot.channels.telegram.errors import delivery_error, is_not_modified
from bot.channels.telegram.intake import ALLOWED_UPDATES, InboxUpdateProcessor, Poller, UpdateInbox
from bot.channels.telegram.links import start_link
from bot.channels.telegram.messages import (
    MessageSequence,
    Send,
    chat_id,
    keyboard,
    message_ref,
    parse_message_ref,
)
from bot.channels.telegram.request import AiohttpRequest
from bot.channels.telegram.settings import TelegramConfig, TelegramPace
from bot.channels.telegram.team import team_body
from bot.http.json_body import BadJson, parse_json
from bot.logs import add_secret
from bot.team.document import TeamDocument
from bot.tokens import same_secret
from conversations.localization import SUPPORTED_LANGUAGES
from conversations.texts import text as localized
from storage.settings import SettingsRepository

log = logging.getLogger(__name__)

TelegramApplication = Application[Any, Any, Any, Any, Any, Any]

COMMANDS = ("start", "help", "stop", "delete")
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_SETTING = "telegram_webhook_secret"
_MIGRATED_SETTING = "telegram_chat_migrated:"
"""+ a group's old chat id: the supergroup it became (kept so a restart still sends there)."""
_MAX_MIGRATIONS = 5


class _ReplyToThisBot(filters.MessageFilter):
    """A reply to a message this bot sent."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        author = replied.from_user if replied is not None else None
        return author is not None and author.id == message.get_bot().id


REPLY_TO_THIS_BOT = _ReplyToThisBot(name="REPLY_TO_THIS_BOT")


class TelegramChannel(Channel):
    name = "telegram"

    def __init__(self, config: TelegramConfig, context: ChannelContext) -> None:
        super().__init__()
        self.config = config
        self.limits = pacing(config.pace)
        self._base_url = context.base_url
        self.bot_username: str | None = config.bot_username
        """For t.me links: from the config, else what getMe says at start."""
        self._application: TelegramApplication | None = None
        self._kept: SettingsRepository = context.kept
        self._inbox = UpdateInbox(context.inbox())
        self._poller: Poller | None = None
        self._shared = False
        """Several workers: getUpdates only on the lease holder, the webhook kept at a stop."""
        self._poll = True
        self._sequences = MessageSequence()
        self._webhook_secret = config.webhook_secret or None
        self._migrated: dict[str, str] = {}
        """Groups upgraded to supergroups: old chat id -> new (Telegram's migrate_to_chat_id)."""

    @property
    def webhook_url(self) -> str:
        return f"{self._base_url()}{WEBHOOK_PATH}"

    def start_link(self, payload: str) -> str | None:
        """t.me/<bot>?start=<payload>, once the bot's username is known."""
        return start_link(self.bot_username, payload) if self.bot_username else None

    def http_routes(self) -> list[web.AbstractRouteDef]:
        if self.config.mode != "webhook":
            return []
        return [web.post(WEBHOOK_PATH, self._receive_webhook)]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        inbox = self._inbox
        self._migrated = await self._kept.with_prefix(_MIGRATED_SETTING)
        application = self._build_application(inbox)
        try:
            await application.initialize()
        except BaseException as error:
            # A rejected token fails inside initialize(): shutdown() would skip an application
            # that never finished it, so close the bot's HTTP sessions here.
            await application.bot.shutdown()
            if isinstance(error, InvalidToken):
                reason = "Telegram rejected the bot token ([telegram] token, from @BotFather)"
                if self.config.base_url:
                    reason += (
                        f", or [telegram] base_url {self.config.base_url} is no Bot API server"
                    )
                raise InvalidToken(reason) from None
            raise
        self._application = application
        try:
            bot = application.bot
            self.bot_username = self.config.bot_username or bot.username
            await self._publish_commands(bot)
            await application.start()
            await inbox.open(application)
            if self.config.mode == "webhook":
                await bot.set_webhook(
                    self.webhook_url,
                    secret_token=await self._secret(),
                    allowed_updates=ALLOWED_UPDATES,
                )
                log.info("Telegram sends updates to %s", self.webhook_url)
            elif self._poll:
                await self._start_polling()
        except BaseException:
            await self.stop()
            raise

    def share_with_workers(self) -> None:
        # The Bot API has one getUpdates consumer per bot (a second one gets 409 Conflict):
        # only the lease holder polls. Every worker takes webhook calls behind the balancer.
        self._shared = True
        self._poll = False

    async def lease_changed(self, held: bool) -> None:
        self._poll = held
        if self.config.mode == "webhook" or self._application is None:
            return
        if held and self._poller is None:
            await self._start_polling()
            log.info("this worker holds the lease: it polls Telegram for updates")
        elif not held and self._poller is not None:
            poller, self._poller = self._poller, None
            await poller.stop()
            log.info("this worker lost the lease: another polls Telegram")

    async def _start_polling(self) -> None:
        assert self._application is not None
        bot = self._application.bot
        await bot.delete_webhook()  # getUpdates is refused while a webhook is set
        self._poller = Poller(bot, self._inbox)
        self._poller.start()

    async def stop(self) -> None:
        application = self._application
        if application is None:
            return
        self._inbox.close()
        if self._poller is not None:
            await self._poller.stop()
            self._poller = None
        if self.config.mode == "webhook" and not self._shared:
            try:
                # While palaute is down Telegram keeps the updates (for a day) instead of giving
                # up on a webhook that does not answer.
                await application.bot.delete_webhook()
            except TelegramError as error:
                log.warning("could not remove the Telegram webhook: %s", error)
        if application.running:
            await application.stop()  # handles the updates already queued
        self._application = None
        await application.shutdown()

    def _build_application(self, inbox: UpdateInbox) -> TelegramApplication:
        builder = (
            Application.builder()
            .token(self.config.token)
            .updater(None)
            .job_queue(None)
            .concurrent_updates(InboxUpdateProcessor(inbox.processed))
            .request(AiohttpRequest())
            .get_updates_request(AiohttpRequest(connection_pool_size=1))
        )
        if self.config.base_url:
            root = self.config.base_url.rstrip("/")
            builder = builder.base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
        application = builder.build()
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        # In a group only a reply to palaute's own message (an alert) counts; other talk there is
        # none of palaute's business (with privacy mode on, Telegram does not even send it).
        team_reply = (
            filters.ChatType.GROUPS
            & filters.UpdateType.MESSAGE
            & filters.TEXT
            & ~filters.COMMAND
            & REPLY_TO_THIS_BOT
        )
        application.add_handlers(
            [
                CommandHandler(COMMANDS, self._on_command, filters=private),
                MessageHandler(private & filters.COMMAND, self._on_command),  # answered with help
                MessageHandler(private & filters.TEXT, self._on_text),
                MessageHandler(team_reply, self._on_team_reply),
                CallbackQueryHandler(self._on_button),  # in private chats, groups and channels
            ]
        )
        application.add_error_handler(self._on_error)
        return application

    async def _publish_commands(self, bot: ExtBot[Any]) -> None:
        scope = BotCommandScopeAllPrivateChats()
        try:
            for language in (None, *SUPPORTED_LANGUAGES):
                commands = [BotCommand(c, localized(f"command_{c}", language)) for c in COMMANDS]
                await bot.set_my_commands(commands, scope=scope, language_code=language)
        except TelegramError as error:
            log.warning("could not set the Telegram command menu: %s", error)

    # ------------------------------------------------------------------ incoming

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(updates.command(update, context.args))

    async def _on_text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(updates.text(update))

    async def _on_team_reply(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(updates.reply(update))

    async def _on_button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()  # stops the spinner on the button at once
        except TelegramError as error:
            log.info("could not answer a Telegram button tap: %s", error)
        incoming = updates.button(update)  # a customer's answer, or a team's alert button
        if incoming is not None:
            await self.deliver(incoming)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("handling Telegram update %s failed", update_id, exc_info=context.error)

    async def _receive_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not same_secret(given, await self._secret()):
            log.warning("refused a Telegram webhook call without the right secret token")
            return web.Response(status=403, text="wrong secret token")
        data = await request.read()
        try:
            body = parse_json(data)
        except BadJson as error:  # also bytes that are not UTF-8, or [[[[… a hundred thousand deep
            log.warning("refused a Telegram webhook call: %s", error)
            return web.Response(status=400, text=f"not a Telegram update: {error}")
        raw = data.decode("utf-8")
        update_id = body.get("update_id") if isinstance(body, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400, text="not a Telegram update")
        await self._inbox.accept([(update_id, raw)])
        return web.Response(text="ok")

    # ------------------------------------------------------------------ outgoing

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        bot, chat = self._bot, self._chat(address)
        parts: list[Send] = []
        if prompt.intro:
            parts.append(partial(bot.send_message, chat, prompt.intro))
        parts.append(
            partial(bot.send_message, chat, prompt.text, reply_markup=keyboard(prompt.rows))
        )
        return await self._send(address, (prompt.intro, prompt.text), parts)

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        send = partial(
            self._bot.send_message, self._chat(address), text, reply_markup=keyboard(buttons)
        )
        return await self._send(address, text, [send])

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        chat, message_id = parse_message_ref(message_ref)
        # No reply_markup: the edit removes the buttons, so nobody taps the question twice.
        await self._edit(
            chat, partial(self._bot.edit_message_text, text, chat_id=chat, message_id=message_id)
        )

    async def send_team(self, address: str, message: TeamDocument) -> str:
        """A report or alert in a team chat; returns the ref of its text message.

        A chart goes first as a photo of its own, the text (up to 4096 characters, where a
        caption has only 1024) with its buttons after it: that text message is what the ref
        names, so an alert is edited with `edit_message_text` and replied to like any other.
        """
        bot, chat = self._bot, self._chat(address)
        body, parse_mode = team_body(message)
        reply = _reply_parameters(message.thread_ref)
        parts: list[Send] = []
        attachment = message.attachment
        if attachment is not None:
            send_file = (
                bot.send_photo if attachment.mime_type.startswith("image/") else bot.send_document
            )
            parts.append(
                partial(
                    send_file,
                    chat,
                    attachment.content,
                    filename=attachment.filename,
                    reply_parameters=reply,
                )
            )
        parts.append(
            partial(
                bot.send_message,
                chat,
                body,
                parse_mode=parse_mode,
                reply_markup=keyboard(message.buttons),
                reply_parameters=reply,
            )
        )
        return await self._send(address, ("team", body, attachment is not None), parts)

    async def edit_team(self, address: str, message_ref: str, message: TeamDocument) -> None:
        chat, message_id = parse_message_ref(message_ref)
        body, parse_mode = team_body(message)
        await self._edit(
            chat,
            partial(
                self._bot.edit_message_text,
                body,
                chat_id=chat,
                message_id=message_id,
                parse_mode=parse_mode,
                reply_markup=keyboard(message.buttons),
            ),
        )

    async def _send(self, address: str, key: Hashable, parts: Sequence[Send]) -> str:
        try:
            message = await self._sequences.send((address, key), parts)
        except ChatMigrated as error:
            new_chat = await self._follow_migration(self._chat(address), error.new_chat_id)
            # Sent again soon by the dispatcher, then to the supergroup (the parts name the chat).
            raise temporary_failure(
                f"Telegram: the group became the supergroup {new_chat}; sending there"
            ) from error
        except TelegramError as error:
            failure = delivery_error(error, chat_id(address))
            if failure.permanent:  # never retried, so nothing to resume
                self._sequences.forget((address, key))
            raise failure from error
        return message_ref(message)

    async def _edit(self, chat: int | str, edit: Callable[[], Awaitable[object]]) -> None:
        try:
            await edit()
        except ChatMigrated as error:  # a message left in the old group cannot be edited
            await self._follow_migration(chat, error.new_chat_id)
            raise delivery_error(error, chat) from error
        except TelegramError as error:
            if not is_not_modified(error):
                raise delivery_error(error, chat) from error

    # ------------------------------------------------------------------ helpers

    def _chat(self, address: str) -> int | str:
        """The chat_id to send to for `address`: a group upgraded to a supergroup, the latter."""
        for _ in range(_MAX_MIGRATIONS):
            if address not in self._migrated:
                break
            address = self._migrated[address]
        return chat_id(address)

    async def _follow_migration(self, old_chat: int | str, new_chat: int) -> int:
        """Send to `new_chat` from now on in place of `old_chat`, across restarts too."""
        old, new = str(old_chat), str(new_chat)
        if self._migrated.get(old) != new:
            self._migrated[old] = new
            await self._kept.put(f"{_MIGRATED_SETTING}{old}", new)
            log.warning(
                "the Telegram group %s was upgraded to the supergroup %s; palaute sends there "
                'from now on. Update the config: "telegram:%s" becomes "telegram:%s" '
                "(in [team] report_to)",
                old,
                new,
                old,
                new,
            )
        return new_chat

    @property
    def _bot(self) -> ExtBot[Any]:
        if self._application is None:
            raise temporary_failure("the Telegram channel is not running")
        bot: ExtBot[Any] = self._application.bot
        return bot

    async def _secret(self) -> str:
        """The webhook's secret token: configured, else generated once and kept in the database."""
        if self._webhook_secret is None:
            self._webhook_secret = await self._kept.get_or_create_secret(_SECRET_SETTING)
            add_secret(self._webhook_secret)  # not in the config, so not scrubbed otherwise
        return self._webhook_secret


OVERALL_HEADROOM = 29 / 30
PER_CHAT_HEADROOM = 0.95


def pacing(pace: TelegramPace) -> Limits:
    """The pace for Telegram's limits in `pace` (30 a second overall, 1 per chat by default).

    Telegram counts a message a second overall, so that budget is a steady rate without a burst
    on top. It counts when a request arrives and palaute when it sends, so both rates sit a
    little under the limit (29 of 30, 0.95 of 1), leaving room for network jitter.

    The overall figure is the FAQ's limit on broadcasting, on messages sent: editing a message
    already in a chat (the tapped question showing its answer) sends nobody anything, and
    Telegram's maintainers say there is no other global limit for bots (tdlib/td#3034), so an
    edit does not wait for it.
    """
    return Limits(
        per_second=pace.messages_per_second * OVERALL_HEADROOM,
        burst=1,
        per_chat_per_second=pace.messages_per_second_per_chat * PER_CHAT_HEADROOM,
        per_chat_burst=pace.per_chat_burst,
        per_group_per_minute=pace.messages_per_minute_per_group,
        edits_in_global=False,
    )


def _reply_parameters(thread_ref: str | None) -> ReplyParameters | None:
    """Reply to the thread's first message, if it still exists."""
    if not thread_ref:
        return None
    message_id = thread_ref.rpartition(":")[2]
    if not message_id.isdigit():
        return None
    return ReplyParameters(int(message_id), allow_sending_without_reply=True)
