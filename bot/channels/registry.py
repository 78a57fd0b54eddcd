"""The channels palaute knows. A channel is a package in bot/channels/ exporting one
`ChannelSpec`; one line in `BUILT_IN` adds it."""

from __future__ import annotations

from bot.channels import slack, telegram, web, whatsapp
from bot.channels.capacity import MessageCapacity
from bot.channels.spec import ChannelSpec
from conversations import texts as engine_texts

BUILT_IN: tuple[ChannelSpec, ...] = (
    web.SPEC,
    telegram.SPEC,
    slack.SPEC,
    whatsapp.SPEC,
)

RESERVED = frozenset({"ref"})
"""Not a channel: `ref:` names a contact by the upstream system's own id."""

_specs: dict[str, ChannelSpec] = {spec.name: spec for spec in BUILT_IN}


def register(spec: ChannelSpec) -> None:
    """Add a channel at run time (one that lives outside bot/channels/, e.g. in a test)."""
    if spec.name in _specs or spec.name in RESERVED or not spec.name.isidentifier():
        raise ValueError(f"cannot register a channel named {spec.name!r}")
    _specs[spec.name] = spec


def unregister(name: str) -> None:
    if any(spec.name == name for spec in BUILT_IN):
        raise ValueError(f"{name} is a built-in channel")
    _specs.pop(name, None)


def specs() -> tuple[ChannelSpec, ...]:
    return tuple(_specs.values())


def find(name: str) -> ChannelSpec | None:
    return _specs.get(name)


def spec(name: str) -> ChannelSpec:
    return _specs[name]


def names() -> tuple[str, ...]:
    return tuple(_specs)


def capacity_of(channel: str) -> MessageCapacity | None:
    """What one message of `channel` carries; None: no limit palaute needs to check."""
    spec = _specs.get(channel)
    return spec.capacity if spec is not None else None


def section_names() -> list[str]:
    """The config sections channels own (`[telegram]`, `[slack]`, …)."""
    return [spec.name for spec in _specs.values() if spec.section is not None]


def contact_forms() -> list[str]:
    """How a contact is written on each channel, pushing channels first: `telegram:CHAT_ID`."""
    ordered = sorted(_specs.values(), key=lambda spec: not spec.pushes_prompts)
    return [f"{spec.name}:{spec.address.contact}" for spec in ordered]


def channel_text(key: str, channel: str, language: str | None, **params: object) -> str:
    """`key` as `channel` words it (Slack's "stopped" names `/palaute start`), else the engine's."""
    spec = _specs.get(channel)
    if spec is None or spec.texts is None:
        return engine_texts.text(key, language, **params)
    return spec.texts.text(key, language, **params)
