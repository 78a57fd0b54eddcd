"""The trigger API: `POST /api/v1/touchpoints` from shops, CRMs and webhooks."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.channels import registry
from bot.delivery.triggers import (
    IDEMPOTENCY_FIELD,
    OCCURRED_RANGE,
    ContactSpec,
    TriggerError,
    TriggerRequest,
    TriggerResult,
    TriggerService,
    request_fingerprint,
)
from bot.http.errors import json_error
from bot.http.json_body import BadJson, lone_surrogate_at, parse_json
from bot.tokens import same_secret
from storage.database import StorageError

log = logging.getLogger(__name__)

TRIGGERS_KEY: web.AppKey[TriggerService] = web.AppKey("triggers", TriggerService)
API_TOKEN_KEY: web.AppKey[str | None] = web.AppKey("api_token", str)  # type: ignore[arg-type]
BATCH_LIMIT_KEY: web.AppKey[int] = web.AppKey("batch_limit", int)
LINK_BUILDER_KEY: web.AppKey[Any] = web.AppKey("link_builder", object)
MAX_BODY = 4 * 1024 * 1024
_FIELDS = {"touchpoint", "contact", "properties", "occurred_at", "language", "again"}


def _authorized(request: web.Request) -> bool:
    expected = request.app[API_TOKEN_KEY]
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and same_secret(token.strip(), expected)


def _contact_forms() -> str:
    """`must be one of {"telegram": CHAT_ID}, …, {"ref": "EXTERNAL_ID"}, {"web": …} (…)`."""
    pushing = [spec for spec in registry.specs() if spec.pushes_prompts]
    pulling = [spec for spec in registry.specs() if not spec.pushes_prompts]
    forms = [f'{{"{spec.name}": {spec.address.json_example}}}' for spec in pushing]
    forms.append('{"ref": "EXTERNAL_ID"}')
    forms += [f'{{"{spec.name}": {spec.address.json_example}}}' for spec in pulling]
    note = " (answers at the personal survey_url)" if pulling else ""
    return f"must be one of {', '.join(forms)}{note}"


def parse_touchpoint(body: Any, prefix: str = "") -> TriggerRequest:
    if not isinstance(body, dict):
        raise TriggerError(prefix.rstrip(".") or "body", "must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise TriggerError(
            f"{prefix}{unknown[0]}", f"unknown field (expected: {', '.join(sorted(_FIELDS))})"
        )
    touchpoint = body.get("touchpoint")
    if not isinstance(touchpoint, str) or not touchpoint:
        raise TriggerError(
            f"{prefix}touchpoint", "is required: the touchpoint name, e.g. order_delivered"
        )
    contact = body.get("contact")
    if not isinstance(contact, dict) or len(contact) != 1:
        raise TriggerError(f"{prefix}contact", _contact_forms())
    ((kind, value),) = contact.items()
    if (
        (kind != "ref" and registry.find(kind) is None)
        or isinstance(value, bool)
        or not isinstance(value, str | int)
    ):
        raise TriggerError(f"{prefix}contact", _contact_forms())
    spec = ContactSpec.parse(f"{kind}:{value}", f"{prefix}contact.{kind}")
    properties = body.get("properties", {})
    if not isinstance(properties, dict):
        raise TriggerError(f"{prefix}properties", "must be a JSON object of texts and numbers")
    for key, value in properties.items():
        if isinstance(value, dict | list) or value is None:
            raise TriggerError(f"{prefix}properties.{key}", "must be a text or a number")
    occurred_at = None
    if body.get("occurred_at") is not None:
        raw = body["occurred_at"]
        try:
            moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise TriggerError(
                f"{prefix}occurred_at",
                'must be an ISO 8601 time with a UTC offset, e.g. "2026-11-22T10:00:00+02:00"',
            )
        try:
            occurred_at = moment.timestamp()
        except (OverflowError, ValueError):  # 9999-12-31T23:59:59-14:00 is in year 10000 UTC
            raise TriggerError(f"{prefix}occurred_at", OCCURRED_RANGE) from None
    language = body.get("language")
    if language is not None and not isinstance(language, str):
        raise TriggerError(f"{prefix}language", 'must be a language code such as "fi" or "en"')
    again = body.get("again", False)
    if not isinstance(again, bool):
        raise TriggerError(f"{prefix}again", "must be true or false")
    return TriggerRequest(touchpoint, spec, properties, occurred_at, language=language, again=again)


def _result_json(request: web.Request, result: TriggerResult) -> dict[str, Any]:
    invitation = result.invitation
    body: dict[str, Any] = {
        "invitation_id": invitation.id,
        "state": invitation.state.value,
        "due_at": datetime.fromtimestamp(invitation.due_at)
        .astimezone()
        .isoformat(timespec="seconds"),
        "contact": result.contact_label,
        "duplicate": not result.created,
    }
    if result.already_asked:
        body["already_asked"] = True
    if invitation.reason:
        body["reason"] = invitation.reason
    builder = request.app.get(LINK_BUILDER_KEY)
    if builder is not None:
        body.update(builder(invitation))
    return body


async def _read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    try:
        body = parse_json(await request.read())
    except BadJson as error:
        raise TriggerError(error.field, error.message) from None
    where = lone_surrogate_at(body)
    if where is not None:
        raise TriggerError(
            where, "contains a lone surrogate (\\ud800 to \\udfff), which is not text"
        )
    return body


async def post_touchpoint(request: web.Request) -> web.Response:
    if not _authorized(request):
        return json_error(
            401, "missing or wrong API token: send Authorization: Bearer <server.api_token>"
        )
    triggers = request.app[TRIGGERS_KEY]
    try:
        body = await _read_json(request)
        if isinstance(body, list):
            return await _batch(request, triggers, body)
        trigger = parse_touchpoint(body)
        key = _idempotency_key(request)
        if key is not None:
            trigger = replace(
                trigger, idempotency_key=f"api:{key}", fingerprint=request_fingerprint(body)
            )
        result = await triggers.trigger(trigger)
    except TriggerError as error:
        status = 400 if error.field == "body" else 422
        return json_error(status, error.message, field=error.field)
    except StorageError as error:
        # Locked by another process, disk full, read-only: worth a retry (an Idempotency-Key
        # keeps a batch's touchpoints that did get stored from being recorded twice).
        log.error("a touchpoint could not be stored: %s", error)
        return json_error(503, f"{error}: try again later")
    return web.json_response(_result_json(request, result), status=202 if result.created else 200)


async def _batch(request: web.Request, triggers: TriggerService, items: list[Any]) -> web.Response:
    limit = request.app[BATCH_LIMIT_KEY]
    if not items:
        raise TriggerError("body", "the batch is empty")
    if len(items) > limit:
        raise TriggerError(
            "body",
            f"a batch takes at most {limit} touchpoints (server.batch_limit), got {len(items)}",
        )
    key = _idempotency_key(request)
    parsed = []
    for index, item in enumerate(items):
        trigger = parse_touchpoint(item, prefix=f"[{index}].")
        if key is not None:
            # Its own namespace: item 0 of batch "k" is not the single request "k#0".
            trigger = replace(
                trigger,
                idempotency_key=f"api-batch:{key}#{index}",
                fingerprint=request_fingerprint(item),
            )
        parsed.append(trigger)
    for index, trigger in enumerate(parsed):
        try:
            triggers.validate(trigger)
            await triggers.check_idempotency(trigger)
        except TriggerError as error:
            raise TriggerError(f"[{index}].{error.field}", error.message) from None
    results = []
    for index, trigger in enumerate(parsed):
        try:
            result = await triggers.trigger(trigger)
        except TriggerError as error:
            raise TriggerError(f"[{index}].{error.field}", error.message) from None
        results.append(_result_json(request, result))
    return web.json_response({"results": results}, status=202)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_FIELD)
    if key is not None and not 1 <= len(key) <= 255:
        raise TriggerError(IDEMPOTENCY_FIELD, "must be 1 to 255 characters")
    return key


def routes() -> list[web.RouteDef]:
    return [web.post("/api/v1/touchpoints", post_touchpoint)]
