"""Reading a file of past answers for `palaute import`: the CSV that `palaute export` writes.

One row per answer. Rows with the same `invitation_id` are one response; a row without one is a
response of its own; a row without a `contact_id` is an anonymous answer. Every row is checked
against the configured surveys, and every bad row is reported with its line and the reason.
This module only reads and checks: storing is `storage.imports`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from conversations.questions import Question, QuestionKind
from conversations.survey import Survey
from storage.imports import ImportedAnswer, ImportedResponse

REQUIRED = ("answered_at", "survey", "question", "value")
KNOWN = (
    "answer_id", "answered_at", "survey", "touchpoint", "channel", "invitation_id", "contact_id",
    "question", "kind", "value", "skipped", "properties",
)  # fmt: skip
DEFAULT_SOURCE = "import"
"""Touchpoint and channel of rows that do not name one (a spreadsheet's history)."""
MAX_NAME = 200
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class BadRow(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportPlan:
    responses: dict[str, ImportedResponse] = field(default_factory=dict)
    """By idempotency key."""
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    ignored_columns: tuple[str, ...] = ()

    @property
    def answers(self) -> int:
        return sum(len(r.answers) for r in self.responses.values())


@dataclass
class _Group:
    line: int
    identity: tuple[str, str, str, str | None, str]
    response: ImportedResponse
    questions: set[str] = field(default_factory=set)


def _scale(question: Question, raw: str) -> float:
    try:
        number = int(raw)
    except ValueError:
        raise BadRow("value", f"{raw!r} is not a whole number") from None
    low, high = question.bounds
    if not low <= number <= high:
        raise BadRow("value", f"{number} is outside {low}–{high} for {question.kind.value}")
    return float(number)


def _value(question: Question, raw: str) -> tuple[float | None, str | None]:
    if question.is_scale:
        return _scale(question, raw), None
    if question.kind is QuestionKind.YES_NO:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes"):
            return 1.0, None
        if lowered in ("0", "false", "no"):
            return 0.0, None
        raise BadRow("value", f"{raw!r} is not yes or no (1 or 0)")
    if question.kind is QuestionKind.CHOICE:
        choices = [choice.value for choice in question.choices]
        if raw not in choices:
            raise BadRow("value", f"{raw!r} is not one of {', '.join(choices)}")
        return None, raw
    if len(raw) > question.max_length:
        raise BadRow("value", f"is {len(raw)} characters, more than {question.max_length}")
    return None, raw


def _timestamp(raw: str, zone: ZoneInfo, latest: float) -> float:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadRow("answered_at", f"{raw!r} is not a date and time (ISO 8601)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    stamp = moment.timestamp()
    if stamp > latest:
        raise BadRow("answered_at", f"{raw} is in the future")
    return stamp


def _properties(
    raw: str, cache: dict[str, tuple[str, Mapping[str, object]]]
) -> tuple[str, Mapping[str, object]]:
    if raw in cache:
        return cache[raw]
    if not raw.strip():
        parsed: object = {}
    else:
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise BadRow("properties", "is not JSON") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(v, str | int | float | bool)
        and not (isinstance(v, float) and not math.isfinite(v))
        for v in parsed.values()
    ):
        raise BadRow("properties", "must be a JSON object of names and plain values")
    canonical = json.dumps(parsed, sort_keys=True, ensure_ascii=False)
    cache[raw] = (canonical, parsed)
    return cache[raw]


def _name(raw: str, column: str) -> str:
    value = raw.strip() or DEFAULT_SOURCE
    if len(value) > MAX_NAME:
        raise BadRow(column, f"is longer than {MAX_NAME} characters")
    return value


def _key(response: ImportedResponse, canonical_properties: str) -> str:
    answers = sorted(
        f"{a.question_id}\x1f{a.kind}\x1f{a.value_num!r}\x1f{a.value_text!r}\x1f{a.skipped}"
        f"\x1f{a.answered_at:.3f}"
        for a in response.answers
    )
    content = "\x1e".join(
        [response.survey_id, response.touchpoint, response.channel, repr(response.contact),
         canonical_properties, *answers]
    )  # fmt: skip
    # 128 bits of the digest: no two responses share it, and the index over it stays small.
    digest = hashlib.blake2b(content.encode(), digest_size=16).digest()
    return "import:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def lines_of(
    handle: Iterable[bytes], advance: Callable[[int], None] | None = None
) -> Iterator[str]:
    """Text lines of a UTF-8 file (a spreadsheet's byte-order mark dropped), counting bytes."""
    first = True
    for raw in handle:
        if advance is not None:
            advance(len(raw))
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        yield raw.decode("utf-8", errors="replace")


def read_answers(
    lines: Iterable[str],
    surveys: Mapping[str, Survey],
    *,
    timezone: str,
    now: float,
) -> ImportPlan:
    """Check every row and gather the responses; bad rows go to `errors`, the rest are kept."""
    plan = ImportPlan()
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader, [])]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        plan.errors.append(RowError(1, f"missing column(s): {', '.join(missing)}"))
        return plan
    plan.ignored_columns = tuple(c for c in header if c not in KNOWN)
    width = len(header)
    # Where each known column is; a column the file lacks reads as "" at index `width`.
    at = {name: header.index(name) if name in header else width for name in KNOWN}
    survey_at, question_at, kind_at, time_at = (
        at["survey"],
        at["question"],
        at["kind"],
        at["answered_at"],
    )
    skipped_at, value_at, properties_at = at["skipped"], at["value"], at["properties"]
    touchpoint_at, channel_at, contact_at = at["touchpoint"], at["channel"], at["contact_id"]
    invitation_at = at["invitation_id"]
    questions = {
        (survey.id, question.id): (question, question.kind.value)
        for survey in surveys.values()
        for question in survey.questions
    }
    zone = ZoneInfo(timezone)
    latest = now + 3600  # a clock a little ahead of this one is not an error
    groups: dict[str, _Group] = {}
    loose: list[tuple[ImportedResponse, str]] = []
    properties_cache: dict[str, tuple[str, Mapping[str, object]]] = {}
    names: dict[tuple[str, str], str] = {}
    line = 1
    for fields in reader:
        start, line = line + 1, reader.line_num
        if not fields:
            continue  # a blank line
        plan.rows += 1
        if len(fields) != width:
            plan.errors.append(
                RowError(start, f"has {len(fields)} fields, the header {width} columns")
            )
            continue
        fields.append("")
        try:
            survey_id = fields[survey_at].strip()
            question_id = fields[question_at].strip()
            found = questions.get((survey_id, question_id))
            if found is None:
                if survey_id not in surveys:
                    raise BadRow("survey", f"{survey_id!r} is not a survey of this config")
                raise BadRow("question", f"{question_id!r} is not a question of survey {survey_id}")
            question, kind = found
            given_kind = fields[kind_at].strip()
            if given_kind and given_kind != kind:
                raise BadRow("kind", f"{given_kind!r}, but {survey_id}.{question_id} is {kind}")
            answered_at = _timestamp(fields[time_at], zone, latest)
            skipped_raw = fields[skipped_at].strip().lower()
            if skipped_raw not in _TRUE and skipped_raw not in _FALSE:
                raise BadRow("skipped", f"{fields[skipped_at]!r} is not true or false")
            skipped = skipped_raw in _TRUE
            raw_value = fields[value_at]
            if skipped:
                if raw_value.strip():
                    raise BadRow("value", "a skipped question has no value")
                number, text = None, None
            elif not raw_value.strip():
                raise BadRow("value", "is empty (a question not answered is skipped = true)")
            else:
                number, text = _value(question, raw_value)
            canonical, properties = _properties(fields[properties_at], properties_cache)
            raw_touchpoint, raw_channel = fields[touchpoint_at], fields[channel_at]
            touchpoint = names.get(("touchpoint", raw_touchpoint))
            if touchpoint is None:
                touchpoint = names[("touchpoint", raw_touchpoint)] = _name(
                    raw_touchpoint, "touchpoint"
                )
            channel = names.get(("channel", raw_channel))
            if channel is None:
                channel = names[("channel", raw_channel)] = _name(raw_channel, "channel")
            contact = fields[contact_at].strip() or None
        except BadRow as error:
            plan.errors.append(RowError(start, str(error)))
            continue
        answer = ImportedAnswer(question_id, kind, number, text, skipped, answered_at)
        identity = (survey_id, touchpoint, channel, contact, canonical)
        invitation = fields[invitation_at].strip()
        if not invitation:
            loose.append(
                (
                    ImportedResponse(
                        "", survey_id, touchpoint, channel, contact, properties, [answer]
                    ),
                    canonical,
                )
            )
            continue
        group = groups.get(invitation)
        if group is None:
            response = ImportedResponse("", survey_id, touchpoint, channel, contact, properties)
            response.invitation_id = int(invitation) if invitation.isdecimal() else None
            group = groups[invitation] = _Group(start, identity, response)
        elif group.identity != identity:
            labels = ("survey", "touchpoint", "channel", "contact_id", "properties")
            differs = next(
                n for n, a, b in zip(labels, group.identity, identity, strict=True) if a != b
            )
            plan.errors.append(
                RowError(
                    start, f"{differs}: differs from line {group.line} of invitation {invitation}"
                )
            )
            continue
        if question_id in group.questions:
            plan.errors.append(
                RowError(
                    start, f"question: {question_id} is answered twice in invitation {invitation}"
                )
            )
            continue
        group.questions.add(question_id)
        group.response.answers.append(answer)
    seen: dict[str, int] = {}
    gathered = [(g.response, g.identity[4]) for g in groups.values() if g.response.answers]
    for response, canonical in [*gathered, *loose]:
        # Two customers can give the same answer at the same second: the second of identical
        # responses in a file is another response, and the same one when the file comes again.
        key = _key(response, canonical)
        seen[key] = seen.get(key, 0) + 1
        response.key = key if seen[key] == 1 else f"{key}:{seen[key]}"
        plan.responses[response.key] = response
    return plan
