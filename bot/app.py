"""Wiring: storage, services, channels, dispatcher, scheduler and the HTTP server in one object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.answers.incoming import IncomingHandler
from bot.answers.surveys import SurveyService
from bot.channels import registry
from bot.channels.base import Channel
from bot.channels.context import AnswerServices, ChannelContext
from bot.channels.intake import ADOPT_EVERY, PRUNE_EVERY, DurableInbox
from bot.channels.spec import ChannelSpec
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.scheduling import InvitationScheduler, build_scheduler
from bot.delivery.triggers import TriggerService
from bot.erasure import ErasureService
from bot.http import api, dashboard
from bot.http.connections import limits_for
from bot.http.server import HttpServer, health
from bot.logs import add_secret
from bot.services import Services, build_services
from bot.team.followups import FollowupService
from bot.team.relay import ReplyRelay
from bot.team.reports.jobs import TeamReporter
from bot.team.webhooks import WebhookChannel, WebhookPublisher
from bot.tokens import TokenSigner
from storage.database import StorageError
from storage.lease import HEARTBEAT_SECONDS, DatabaseInUse, RunLease
from storage.records import Invitation
from storage.store import Store

if TYPE_CHECKING:
    from storage.postgresql.lease import AdvisoryLease
from storage.workers import HEARTBEAT_SECONDS as WORKER_HEARTBEAT_SECONDS
from storage.workers import WorkerRegistry

log = logging.getLogger(__name__)

LEASE_TRY_SECONDS = 1.0
"""How often a worker that does not hold the work lease asks for it (and the holder checks that
its session is alive): the periodic work moves on within about this long of a holder's death."""

APP_KEY: web.AppKey[PalauteApp] = web.AppKey("palaute", object)  # type: ignore[arg-type]


class StartupError(RuntimeError):
    """palaute could not start; the message says what to fix."""


class PalauteApp:
    services: Services
    """Built complete by `bot.services.build_services` in `start()`."""

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
        self.channels: dict[str, Channel] = dict(channels) if channels is not None else {}
        """Adapters given instead of building them from the config (tests); the channels
        without settings (web) are built at start unless given too."""
        self._given_channels = channels is not None
        self._built: set[str] = set()
        if config.webhooks and "webhook" not in self.channels:
            self.channels["webhook"] = WebhookChannel(config.webhooks)
        self.http_enabled = http
        self.stopped = asyncio.Event()
        self._started_channels: list[Channel] = []
        self._kick: asyncio.Task[None] | None = None
        self._kick_again = False
        self.workers: WorkerRegistry | None = None
        """Several workers on PostgreSQL: this one among them (None: the one run on SQLite)."""
        self.work_lease: AdvisoryLease | None = None
        self._work_lease_task: asyncio.Task[None] | None = None
        self._live_workers = 1

    async def start(self) -> None:
        self.store = await Store.open(self.config.storage.location)
        database = self.store.database
        if database.dialect.name == "postgresql":
            # Several workers may share it: each registers; the work that runs once goes to
            # the holder of an advisory lock (storage.postgresql.lease). Imported here: asyncpg
            # is loaded only when PostgreSQL is named.
            from storage.postgresql.database import PostgresDatabase
            from storage.postgresql.lease import AdvisoryLease

            assert isinstance(database, PostgresDatabase)
            self.workers = WorkerRegistry(database)
            self._live_workers = await self.workers.join(now=time.time())
            self.work_lease = AdvisoryLease(database)
            self._heartbeat = asyncio.create_task(self._keep_worker(), name="palaute-worker")
        else:
            # Before anything reads the outbox: a second process would resend what this one sends.
            self.lease = RunLease(database)
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
        self.scheduler: AsyncIOScheduler = build_scheduler(self.config.team.timezone)
        self._build_channels()
        self.services = build_services(
            self.store,
            self.config,
            self.clock,
            self.channels,
            self.signer,
            on_invitation_created=self.kick,
            worker=self.workers.id if self.workers is not None else None,
        )
        self.invitations.start(self.scheduler)
        self.reporter.start(self.scheduler)
        self.web_app = self._web_application()
        self.http = HttpServer(
            self.web_app,
            self.config.server.host,
            self.config.server.port,
            limits_for(self.config.server.trusted_proxies),
        )
        for name, channel in self.channels.items():
            channel.set_handler(self.incoming)
            if self.workers is not None:
                channel.share_with_workers()
            spec = registry.find(name)
            if name in self._built and spec is not None and spec.organizer_commands is not None:
                spec.organizer_commands(channel, self.services.organizer)
        if self.http_enabled:
            try:
                await self.http.start()
            except OSError as error:
                raise StartupError(
                    f"cannot listen on {self.config.server.host}:{self.config.server.port}:"
                    f" {os.strerror(error.errno) if error.errno else error} (is palaute already running? set [server] port"
                    " to another port)"
                ) from error
            await self.dashboard.announce(self.base_url())
        # Channels first, so that what the outbox kept from the last run goes out at once.
        for name, channel in self.channels.items():
            try:
                await channel.start()
            except Exception as error:
                raise StartupError(f"the {name} channel could not start: {error}") from error
            self._started_channels.append(channel)
            log.info("%s channel started", name)
        if self.workers is None:
            await self.dispatcher.start()
            self.scheduler.start()
            await self.invitations.tick()
            await self.reporter.run_due()  # a summary missed while palaute was down, marked late
            return
        self.dispatcher.share_pace(self._live_workers)
        # A worker joining others sends once they have slowed down to their new share (two
        # heartbeats: one of theirs may come late on a busy machine).
        joining = 2 * WORKER_HEARTBEAT_SECONDS + 0.5 if self._live_workers > 1 else 0.0
        await self.dispatcher.start(first_claim_after=joining)
        # Every worker runs a tick when an invitation is created here (a compare-and-set
        # each); the periodic jobs run on the lease holder only.
        self.scheduler.start(paused=True)
        self._work_lease_task = asyncio.create_task(
            self._keep_work_lease(), name="palaute-work-lease"
        )

    # The services (built in `start`), by the names the channels, the HTTP server and the
    # tests know them by.

    @property
    def dispatcher(self) -> Dispatcher:
        return self.services.dispatcher

    @property
    def surveys(self) -> SurveyService:
        return self.services.surveys

    @property
    def triggers(self) -> TriggerService:
        return self.services.triggers

    @property
    def invitations(self) -> InvitationScheduler:
        return self.services.invitations

    @property
    def webhooks(self) -> WebhookPublisher:
        return self.services.webhooks

    @property
    def followups(self) -> FollowupService:
        return self.services.followups

    @property
    def relay(self) -> ReplyRelay:
        return self.services.relay

    @property
    def erasure(self) -> ErasureService:
        return self.services.erasure

    @property
    def incoming(self) -> IncomingHandler:
        return self.services.incoming

    @property
    def reporter(self) -> TeamReporter:
        return self.services.reporter

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

    async def _keep_worker(self) -> None:
        """Renew this worker's heartbeat, hand what lapsed workers left in flight to the
        outbox, and keep to this worker's share of the pace."""
        assert self.workers is not None
        while True:
            await asyncio.sleep(WORKER_HEARTBEAT_SECONDS)
            try:
                now = time.time()
                live = await self.workers.heartbeat(now=now)
                recovered = await self.workers.recover_lapsed(now=now)
                live = await self.workers.live(now=now) if recovered else live
            except StorageError as error:
                log.warning("could not renew this worker's heartbeat (%s); trying again", error)
                continue
            if live != self._live_workers:
                log.info("%d worker(s) share the pace now", live)
                self._live_workers = live
            services = getattr(self, "services", None)
            if services is not None:
                services.dispatcher.share_pace(live)
                if recovered:
                    services.dispatcher.wake()

    async def _keep_work_lease(self) -> None:
        """Ask for the work lease until this worker holds it; then run the periodic work
        (the scheduler's jobs, a summary missed meanwhile) and Telegram's polling here."""
        assert self.work_lease is not None
        held = False
        while True:
            now_held = await self.work_lease.heartbeat()
            if now_held != held:
                held = now_held
                try:
                    await self._lease_changed(held)
                except Exception:
                    log.exception("taking over the periodic work failed; trying again")
                    await self.work_lease.release()
                    held = False
            await asyncio.sleep(LEASE_TRY_SECONDS)

    async def _lease_changed(self, held: bool) -> None:
        if held:
            log.info("this worker holds the work lease: the periodic work runs here")
            self.scheduler.resume()
        else:
            log.warning("this worker lost the work lease: another runs the periodic work")
            self.scheduler.pause()
        for channel in self._started_channels:
            await channel.lease_changed(held)
        if held:
            await self.invitations.tick()
            await self.reporter.run_due()  # one due (or missed) while no worker held it

    def _web_application(self) -> web.Application:
        app = web.Application(client_max_size=api.MAX_BODY)
        app[APP_KEY] = self
        app[api.TRIGGERS_KEY] = self.triggers
        app[api.API_TOKEN_KEY] = self.config.server.api_token
        app[api.BATCH_LIMIT_KEY] = self.config.server.batch_limit
        app.router.add_get("/healthz", health)
        app.add_routes(api.routes())
        self.dashboard = dashboard.install(app, self)
        for channel in self.channels.values():
            app.add_routes(channel.http_routes())
        app[api.LINK_BUILDER_KEY] = self._invitation_links
        return app

    def _build_channels(self) -> None:
        """Each channel of the config (and each always-on one) from its spec and a narrow
        context, unless given to the constructor."""
        for spec in registry.specs():
            if spec.name in self.channels:
                continue
            configured = spec.name in self.config.channel_settings
            if spec.section is None or (configured and not self._given_channels):
                self.channels[spec.name] = spec.build(self._channel_context(spec))
                self._built.add(spec.name)

    def _channel_context(self, spec: ChannelSpec) -> ChannelContext:
        intake = None
        if spec.uses_intake:
            worker = self.workers.id if self.workers is not None else None
            intake = DurableInbox(spec.name, self.store.inbox, self.clock, worker=worker)
            self._add_job(intake.prune, PRUNE_EVERY, f"{spec.name}-inbox-prune")
            if worker is not None:
                self._add_job(intake.adopt, ADOPT_EVERY, f"{spec.name}-inbox-adopt")
        return ChannelContext(
            name=spec.name,
            settings=self.config.channel_settings.get(spec.name),
            clock=self.clock,
            default_language=self.config.defaults.language,
            base_url=self.base_url,
            public_url=self.config.server.public_url,
            kept=self.store.settings,
            contacts=self.store.contacts,
            signer=self.signer,
            add_job=self._add_job,
            intake=intake,
            answers=self._answer_services,
            invitations=self.store.invitations,
            database=self.store.database,
        )

    def _add_job(self, job: Callable[[], Awaitable[Any]], every: timedelta, job_id: str) -> None:
        self.scheduler.add_job(
            job,
            "interval",
            seconds=every.total_seconds(),
            id=job_id,
            max_instances=1,
            coalesce=True,
        )

    def _answer_services(self) -> AnswerServices:
        return AnswerServices(self.store, self.config, self.surveys, self.triggers)

    def _invitation_links(self, invitation: Invitation) -> dict[str, str]:
        """What the trigger API returns an upstream system for one invitation, from every
        channel that offers links (a survey_url, a telegram_link)."""
        found: dict[str, str] = {}
        for channel in self.channels.values():
            found.update(channel.invitation_links(invitation, self.signer))
        return found

    def base_url(self) -> str:
        """palaute's public address; with port 0, the port the server really got."""
        server = self.config.server
        if not server.public_url and server.port == 0 and getattr(self, "http", None):
            return server.base_url.rsplit(":", 1)[0] + f":{self.http.port}"
        return server.base_url

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
        if self._work_lease_task is not None:
            self._work_lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._work_lease_task
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
                if self.work_lease is not None:
                    await self.work_lease.release()
                if self.workers is not None:
                    await self.workers.leave()
                else:
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
