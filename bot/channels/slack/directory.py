"""Who is who in a Slack workspace: users (with their locale), emails, user groups, channels.

Answers are cached for a while: a survey blast or a run of button taps asks about the same
people again and again, and users.info is rate limited (Tier 4, 100+ a minute). A lookup
someone waits for (an organizer's `/palaute send #channel`) goes through `patient_client`,
which waits out a 429's Retry-After; one that must not hold an answer up does not.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

T = TypeVar("T")

_NO_SUCH_USER = frozenset({"user_not_found", "users_not_found", "user_not_visible"})


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str | None
    locale: str | None
    """Only when Slack shares it (users.info with include_locale)."""
    is_bot: bool
    deleted: bool

    @property
    def can_be_surveyed(self) -> bool:
        return not (self.is_bot or self.deleted or self.id == "USLACKBOT")

    @classmethod
    def from_api(cls, user: dict[str, Any]) -> SlackUser:
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        return cls(
            id=str(user["id"]),
            name=name or user.get("name"),
            locale=user.get("locale"),
            is_bot=bool(user.get("is_bot")) or bool(profile.get("bot_id")),
            deleted=bool(user.get("deleted")),
        )


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        patient_client: AsyncWebClient | None = None,
        user_ttl: float = 3600.0,
        group_ttl: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.patient_client = patient_client or client
        self.user_ttl = user_ttl
        self.group_ttl = group_ttl
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, Any]] = {}

    async def _cached(self, key: str, ttl: float, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > self.monotonic():
            return hit[1]  # type: ignore[no-any-return]
        value = await load()
        if len(self._cache) > 20_000:
            self._cache.clear()
        self._cache[key] = (self.monotonic() + ttl, value)
        return value

    async def user(self, user_id: str, *, patient: bool = False) -> SlackUser | None:
        """None when Slack knows no such user."""
        client = self.patient_client if patient else self.client

        async def load() -> SlackUser | None:
            try:
                response = await client.users_info(user=user_id, include_locale=True)
            except SlackApiError as error:
                if error.response.get("error") in _NO_SUCH_USER:
                    return None
                raise
            return SlackUser.from_api(response["user"])

        return await self._cached(f"user:{user_id}", self.user_ttl, load)

    async def user_by_email(self, email: str, *, patient: bool = False) -> SlackUser | None:
        client = self.patient_client if patient else self.client

        async def load() -> str | None:
            try:
                response = await client.users_lookupByEmail(email=email)
            except SlackApiError as error:
                if error.response.get("error") in _NO_SUCH_USER:
                    return None
                raise
            return str(response["user"]["id"])

        user_id = await self._cached(f"email:{email.lower()}", self.user_ttl, load)
        # users.lookupByEmail leaves out the locale; users.info has it.
        return await self.user(user_id, patient=patient) if user_id else None

    async def usergroup_members(self, usergroup_id: str) -> frozenset[str]:
        async def load() -> frozenset[str]:
            response = await self.patient_client.usergroups_users_list(usergroup=usergroup_id)
            return frozenset(str(u) for u in response.get("users") or [])

        return await self._cached(f"group:{usergroup_id}", self.group_ttl, load)

    async def channel_members(self, channel_id: str) -> list[str]:
        members: list[str] = []
        pages = await self.patient_client.conversations_members(channel=channel_id, limit=200)
        async for page in pages:
            members.extend(str(m) for m in page.get("members") or [])
        return members
