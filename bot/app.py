"""Wiring: storage, services, channels, dispatcher, scheduler and the HTTP server in one object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.base import Channel, http_routes_of
from bot.channels.web import WebChannel
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.dispatcher import Dispatcher
from bot.followups import FollowupService
from bot.http import api, dashboard, web_survey
from bot.http.connections import limits_for
from bot.http.server import HttpServer, health
from bot.incoming import IncomingHandler
from bot.logs import add_secret
from bot.relay import ReplyRelay
from bot.reports.jobs import TeamReporter
from bot.scheduling import InvitationScheduler, build_scheduler
from bot.surveys import SurveyService
from bot.tokens import TokenSigner
from bot.triggers import TriggerService
from bot.webhooks import WebhookChannel, WebhookPublisher
from storage.database import StorageError
from storage.lease import HEARTBEAT_SECONDS, DatabaseInUse, RunLease
from storage.store import Store

log = logging.getLogger(__name__)

APP_KEY: web.AppKey[PalauteApp] = web.AppKey("palaute", object)  # type: ignore[arg-type]


class StartupError(RuntimeError):
    """palaute could not start; the message says what to fix."""


def build_channels(config: Config) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"web": WebChannel()}
    if config.telegram:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(config.telegram, config.server)
    if config.slack:
        from bot.channels.slack import SlackChannel

        channels["slack"] = SlackChannel(config.slack, config.server)
    return channels


class PalauteApp:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        channels: dict[str, Channel] | None = None,
        http: bool = True,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.channels = channels if channels is not None else build_channels(config)
        if config.webhooks and "webhook" not in self.channels:
            self.channels["webhook"] = WebhookChannel(config.webhooks)
        self.http_enabled = http
        self.stopped = asyncio.Event()
        self._started_channels: list[Channel] = []
        self._kick: asyncio.Task[None] | None = None
        self._kick_again = False

    async def start(self) -> None:
        self.store = await Store.open(self.config.storage.location)
        # Before anything reads the outbox: a second process would resend what this one sends.
        self.lease = RunLease(self.store.database)
        try:
            await self.lease.acquire(now=time.time())
        except DatabaseInUse as error:
            raise StartupError(str(error)) from error
        self._heartbeat = asyncio.create_task(self._keep_lease(), name="palaute-lease")
        secret = self.config.server.secret_key or await self.store.settings.get_or_create_secret(
            "link_secret"
        )
        add_secret(secret)  # generated and kept in the database: not among the config's
        self.signer = TokenSigner(secret)
        self.dispatcher = Dispatcher(self.store, self.channels, self.clock)
        self.surveys = SurveyService(self.store, self.config, self.clock, self.dispatcher.wake)
        self.surveys.pushing_channels = {
            name for name, c in self.channels.items() if c.pushes_prompts
        }
        self.triggers = TriggerService(
            self.store, self.config, self.clock, channels=list(self.channels)
        )
        self.triggers.on_created = self.kick
        self.incoming = IncomingHandler(
            self.store, self.surveys, self.triggers, self.signer, self.clock
        )
        self.scheduler: AsyncIOScheduler = build_scheduler(self.config.team.timezone)
        self.invitations = InvitationScheduler(
            self.store, self.config, self.clock, self.surveys, self.triggers, self.dispatcher.wake
        )
        self.invitations.start(self.scheduler)
        self.webhooks = WebhookPublisher(self.store, self.config, self.clock, self.dispatcher.wake)
        self.followups = FollowupService(self.store, self.config, self.clock, self.dispatcher.wake)
        self.followups.on_resolved.append(self.webhooks.on_resolved)
        self.surveys.listeners += [self.followups.on_answer, self.webhooks.on_answer]
        self.dispatcher.sent_hooks.append(self.followups.on_sent)
        self.incoming.followups = self.followups
        self.relay = ReplyRelay(self.store, self.config, self.clock, self.dispatcher.wake)
        self.relay.reply_channels = self.followups.reply_channels = self.surveys.pushing_channels
        self.incoming.relay = self.relay
        self.reporter = TeamReporter(self.store, self.config, self.clock, self.dispatcher.wake)
        self.reporter.start(self.scheduler)
        self.web_app = self._web_application()
        self.http = HttpServer(
            self.web_app,
            self.config.server.host,
            self.config.server.port,
            limits_for(self.config.server.trusted_proxies),
        )
        for channel in self.channels.values():
            channel.set_handler(self.incoming)
            if hasattr(channel, "attach"):
                channel.attach(self)
        if self.http_enabled:
            try:
                await self.http.start()
            except OSError as error:
                raise StartupError(
                    f"cannot listen on {self.config.server.host}:{self.config.server.port}:"
                    f" {os.strerror(error.errno) if error.errno else error} (is palaute already running? set [server] port"
                    " to another port)"
                ) from error
            web_survey.announce(self)
            await self.dashboard.announce(web_survey.links(self).base_url)
        # Channels first, so that what the outbox kept from the last run goes out at once.
        for name, channel in self.channels.items():
            try:
                await channel.start()
            except Exception as error:
                raise StartupError(f"the {name} channel could not start: {error}") from error
            self._started_channels.append(channel)
            log.info("%s channel started", name)
        await self.dispatcher.start()
        self.scheduler.start()
        await self.invitations.tick()
        await self.reporter.run_due()  # a summary missed while palaute was down, marked late

    async def _keep_lease(self) -> None:
        """Renew the run lease (wall-clock time: other processes read it) until stopped."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                renewed = await self.lease.heartbeat(now=time.time())
            except StorageError as error:
                log.warning("could not renew the run lease (%s); trying again", error)
                continue
            if not renewed:
                log.error(
                    "another palaute run took over %s (this one missed its heartbeats); stopping",
                    self.config.storage.path,
                )
                self.stopped.set()
                return

    def _web_application(self) -> web.Application:
        app = web.Application(client_max_size=api.MAX_BODY)
        app[APP_KEY] = self
        app[api.TRIGGERS_KEY] = self.triggers
        app[api.API_TOKEN_KEY] = self.config.server.api_token
        app[api.BATCH_LIMIT_KEY] = self.config.server.batch_limit
        app.router.add_get("/healthz", health)
        app.add_routes(api.routes())
        web_survey.install(app, self)
        self.dashboard = dashboard.install(app, self)
        for channel in self.channels.values():
            app.add_routes(http_routes_of(channel))
        return app

    def kick(self) -> None:
        """Run the invitation tick now instead of at the next interval.

        A burst of triggers (an API batch, an event's audience) makes ticks back to back, not one
        rescheduling of the interval job each: that woke APScheduler thousands of times and had
        it log "maximum number of running instances reached" for nearly every trigger.
        """
        if not self.scheduler.running:
            return
        self._kick_again = True
        if self._kick is None or self._kick.done():
            self._kick = asyncio.get_running_loop().create_task(self._kicked(), name="palaute-kick")

    async def _kicked(self) -> None:
        while self._kick_again:
            self._kick_again = False
            try:
                await self.invitations.tick()
            except Exception:
                log.exception("sending the invitations that are due failed; the next tick retries")

    async def stop(self) -> None:
        """Stop what was started (also after a failed start), the dispatcher before the channels."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._kick is not None:
            self._kick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._kick
        # Messages in flight finish through channels that are still up.
        await self.dispatcher.stop()
        for channel in reversed(self._started_channels):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping the %s channel failed", channel.name)
        self._started_channels.clear()
        if self.http_enabled:
            await self.http.stop()
        await self._close_store()

    async def _close_store(self) -> None:
        """Give up the run lease (if this process got it), then close the database."""
        heartbeat = getattr(self, "_heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            try:
                await self.lease.release()
            except StorageError as error:  # it lapses by itself
                log.warning("could not release the run lease: %s", error)
        await self.store.close()

    async def run_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stopped.set)
        try:
            await self.start()
        except BaseException:
            if hasattr(self, "http"):
                await self.stop()
            elif hasattr(self, "store"):
                await self._close_store()
            raise
        try:
            await self.stopped.wait()
        finally:
            log.info("stopping: finishing messages in flight")
            await self.stop()
