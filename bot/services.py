"""The services, built complete in one place: each gets, in its constructor, exactly the
repositories, config sections and services it uses, and its listeners and hooks.

Nothing is set on a service after this: `build_services` is the whole wiring of a running
palaute (the app adds the channels, the scheduler and the HTTP server around it), and
`trigger_service` / `erasure_service` build the one service a CLI command needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from bot.answers.incoming import IncomingHandler, IncomingSettings, IncomingStorage
from bot.answers.surveys import SurveyService, SurveySettings, SurveyStorage
from bot.channels.base import Channel
from bot.clock import Clock
from bot.config import Config
from bot.delivery.dispatcher import Dispatcher, DispatchStorage
from bot.delivery.scheduling import InvitationScheduler, SchedulingSettings, SchedulingStorage
from bot.delivery.triggers import ContactResolver, TriggerService, TriggerSettings, TriggerStorage
from bot.erasure import ErasureService, ErasureSettings, ErasureStorage
from bot.team.followups import FollowupService, FollowupSettings, FollowupStorage
from bot.team.organizer import Organizer
from bot.team.relay import RelaySettings, RelayStorage, ReplyRelay
from bot.team.reports.jobs import ReportSettings, ReportStorage, TeamReporter
from bot.team.reports.summary import SummaryBuilder
from bot.team.webhooks import WebhookPublisher, WebhookSettings, WebhookStorage
from bot.tokens import TokenSigner
from storage.store import Store


@dataclass(frozen=True)
class Services:
    """Everything a running palaute does between the channels and the database."""

    dispatcher: Dispatcher
    surveys: SurveyService
    triggers: TriggerService
    invitations: InvitationScheduler
    webhooks: WebhookPublisher
    followups: FollowupService
    relay: ReplyRelay
    erasure: ErasureService
    incoming: IncomingHandler
    reporter: TeamReporter
    organizer: Organizer


def build_services(
    store: Store,
    config: Config,
    clock: Clock,
    channels: Mapping[str, Channel],
    signer: TokenSigner,
    *,
    on_invitation_created: Callable[[], None],
    worker: str | None = None,
) -> Services:
    """`channels` are the running ones (the dispatcher sends through them; the chats among them
    are where customers are written to); `on_invitation_created` runs the invitation tick now;
    `worker` is this worker's id when several share a PostgreSQL database."""
    outbox_waiting = asyncio.Event()
    wake = outbox_waiting.set
    chats = frozenset(name for name, channel in channels.items() if channel.pushes_prompts)
    webhooks = webhook_publisher(store, config, clock, wake)
    followups = FollowupService(
        FollowupStorage(store.database, store.followups, store.answers, store.outbox),
        FollowupSettings(config.team, config.surveys, config.defaults),
        clock,
        wake,
        on_resolved=(webhooks.on_resolved,),
        reply_channels=chats,
    )
    dispatcher = Dispatcher(
        DispatchStorage(
            store.database, store.outbox, store.prompts, store.invitations, store.contacts
        ),
        channels,
        clock,
        wakeup=outbox_waiting,
        sent_hooks=(followups.on_sent,),
        worker=worker,
    )
    surveys = SurveyService(
        SurveyStorage(
            store.database, store.invitations, store.answers, store.outbox, store.prompts
        ),
        SurveySettings(config.surveys, config.defaults),
        clock,
        wake,
        listeners=(followups.on_answer, webhooks.on_answer),
        pushing_channels=chats,
    )
    triggers = trigger_service(
        store,
        config,
        clock,
        channels=list(channels),
        on_created=on_invitation_created,
        resolvers=contact_resolvers(channels),
    )
    invitations = InvitationScheduler(
        SchedulingStorage(store.database, store.invitations, store.contacts, store.audiences),
        SchedulingSettings(config.touchpoints, config.surveys),
        clock,
        surveys,
        triggers,
        wake,
    )
    relay = ReplyRelay(
        RelayStorage(
            store.database, store.followups, store.contacts, store.invitations, store.outbox
        ),
        RelaySettings(config.surveys, config.organisation, config.defaults),
        clock,
        wake,
        reply_channels=chats,
    )
    erasure = erasure_service(store, config, clock, wake, webhooks=webhooks)
    incoming = IncomingHandler(
        IncomingStorage(store.database, store.contacts, store.invitations, store.audiences),
        IncomingSettings(config.defaults, config.audience_name),
        clock,
        surveys=surveys,
        triggers=triggers,
        followups=followups,
        relay=relay,
        erasure=erasure,
        signer=signer,
    )
    reporter = TeamReporter(
        ReportStorage(store.database, store.team_reports, store.outbox, store.settings),
        ReportSettings(config.team),
        clock,
        wake,
        builder=SummaryBuilder(store, config),
    )
    return Services(
        dispatcher=dispatcher,
        surveys=surveys,
        triggers=triggers,
        invitations=invitations,
        webhooks=webhooks,
        followups=followups,
        relay=relay,
        erasure=erasure,
        incoming=incoming,
        reporter=reporter,
        organizer=Organizer(store, config, clock, triggers, invitations),
    )


def contact_resolvers(channels: Mapping[str, Channel]) -> dict[str, ContactResolver]:
    """The channels that turn a touchpoint's contact into a chat identity (Slack: an email)."""
    resolvers: dict[str, ContactResolver] = {}
    for name, channel in channels.items():
        resolve = getattr(channel, "resolve_contact", None)
        if resolve is not None:
            resolvers[name] = resolve
    return resolvers


def trigger_service(
    store: Store,
    config: Config,
    clock: Clock,
    *,
    channels: Collection[str] | None = None,
    on_created: Callable[[], None] = lambda: None,
    resolvers: Mapping[str, ContactResolver] | None = None,
) -> TriggerService:
    """Outside a running palaute (`palaute trigger`, `palaute link`) nothing is woken: the
    running one's tick sends what is due; `channels` are the configured ones unless given."""
    return TriggerService(
        TriggerStorage(store.database, store.contacts, store.invitations),
        TriggerSettings(config.surveys, config.touchpoints, config.defaults, config.touchpoint),
        clock,
        channels=config.channels if channels is None else channels,
        on_created=on_created,
        resolvers=resolvers or {},
    )


def webhook_publisher(
    store: Store, config: Config, clock: Clock, wake: Callable[[], None]
) -> WebhookPublisher:
    return WebhookPublisher(
        WebhookStorage(store.outbox, store.contacts),
        WebhookSettings(config.webhooks, config.team, config.surveys),
        clock,
        wake,
    )


def erasure_service(
    store: Store,
    config: Config,
    clock: Clock,
    wake: Callable[[], None],
    *,
    webhooks: WebhookPublisher | None = None,
) -> ErasureService:
    """`webhooks`: the running palaute's publisher; `palaute forget` gets one of its own."""
    return ErasureService(
        ErasureStorage(store.database, store.contacts, store.erasure, store.outbox),
        ErasureSettings(config.defaults),
        clock,
        wake,
        webhooks=webhooks or webhook_publisher(store, config, clock, wake),
    )
