"""A `ChannelContext` over a real store, for tests that drive one adapter without the app."""

from __future__ import annotations

from typing import Any

from bot.channels.context import ChannelContext
from bot.channels.intake import DurableInbox
from bot.clock import Clock, SystemClock
from bot.tokens import TokenSigner
from storage.store import Store


def channel_context(
    name: str,
    settings: Any,
    store: Store,
    *,
    clock: Clock | None = None,
    base_url: str = "http://localhost:8080",
) -> ChannelContext:
    clock = clock or SystemClock()
    return ChannelContext(
        name=name,
        settings=settings,
        clock=clock,
        default_language="en",
        base_url=lambda: base_url,
        public_url=None,
        kept=store.settings,
        contacts=store.contacts,
        signer=TokenSigner("test-secret"),
        add_job=lambda job, every, job_id: None,
        intake=DurableInbox(name, store.inbox, clock),
    )
