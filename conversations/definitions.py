"""Build a `Survey` from plain data (a parsed TOML table), collecting every problem with its key path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conversations.conditions import Condition, ConditionError, parse_condition
from conversations.localization import LocalizedText, template_fields
from conversations.questions import FIXED_SCALES, Choice, Question, QuestionKind
from conversations.schema import Problem, TableReader
from conversations.survey import Survey, ThankYou

SURVEY_KEYS = {
    "title", "customer_title", "default_language", "intro", "questions", "thanks", "anonymous",
    "alert_at_most",
}  # fmt: skip
QUESTION_KEYS = {
    "id", "type", "text", "optional", "when", "points", "low_label", "high_label",
    "choices", "max_length", "tags", "alert_at_most", "alert_on",
}  # fmt: skip
THANKS_KEYS = {"text", "when"}


class DefinitionError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


class _Reader(TableReader):
    """Adds localized texts and conditions to the table reader."""

    def __init__(self, default_language: str) -> None:
        super().__init__()
        self.default_language = default_language

    def localized(self, value: Any, path: str, *, required: bool = True) -> LocalizedText | None:
        if value is None:
            if required:
                self.problem(path, "is required")
            return None
        if isinstance(value, str):
            texts: dict[str, str] = {self.default_language: value}
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            texts = dict(value)
        else:
            self.problem(
                path, 'must be a text or a table of texts by language, e.g. { fi = "…", en = "…" }'
            )
            return None
        for language, template in texts.items():
            if not template.strip():
                self.problem(f"{path}.{language}", "must not be empty")
            try:
                template_fields(template)
            except ValueError as error:
                self.problem(f"{path}.{language}", str(error))
        return texts

    def condition(self, value: Any, path: str) -> Condition | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(path, 'must be a condition in quotes, e.g. "nps <= 6"')
            return None
        try:
            return parse_condition(value)
        except ConditionError as error:
            self.problem(path, str(error))
            return None


def survey_from_mapping(survey_id: str, data: Mapping[str, Any]) -> Survey:
    """Raises DefinitionError listing every problem, with paths relative to the survey's table."""
    default_language = data.get("default_language", "en")
    if not isinstance(default_language, str) or not default_language:
        default_language = "en"
    reader = _Reader(default_language)
    reader.unknown_keys(data, SURVEY_KEYS, "")
    title = reader.localized(data.get("title", survey_id), "title") or {default_language: survey_id}
    intro = reader.localized(data.get("intro"), "intro", required=False)
    customer_title = reader.localized(data.get("customer_title"), "customer_title", required=False)
    anonymous = reader.typed(data.get("anonymous"), bool, "anonymous", False)
    rating_alert = reader.typed(data.get("alert_at_most"), int, "alert_at_most", None)

    raw_questions = data.get("questions")
    questions: list[Question] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        reader.problem("questions", "a survey needs at least one [[questions]] entry")
        raw_questions = []
    for index, raw in enumerate(raw_questions):
        question = _question(reader, raw, f"questions[{index}]", rating_alert)
        if question is not None:
            questions.append(question)

    thanks: list[ThankYou] = []
    raw_thanks = data.get("thanks", [])
    if not isinstance(raw_thanks, list):
        reader.problem("thanks", "must be a list of [[thanks]] entries")
        raw_thanks = []
    for index, raw in enumerate(raw_thanks):
        path = f"thanks[{index}]"
        if not isinstance(raw, Mapping):
            reader.problem(path, "must be a table with `text` and an optional `when`")
            continue
        reader.unknown_keys(raw, THANKS_KEYS, f"{path}.")
        thanks_text = reader.localized(raw.get("text"), f"{path}.text")
        if thanks_text:
            thanks.append(ThankYou(thanks_text, reader.condition(raw.get("when"), f"{path}.when")))

    survey = Survey(
        id=survey_id,
        title=title,
        questions=tuple(questions),
        default_language=default_language,
        intro=intro,
        thanks=tuple(thanks),
        anonymous=anonymous,
        customer_title=customer_title,
    )
    if not reader.problems:
        reader.problems.extend(survey.problems())
    if reader.problems:
        raise DefinitionError(reader.problems)
    return survey


def _question(
    reader: _Reader, raw: Any, path: str, rating_alert: int | None = None
) -> Question | None:
    if not isinstance(raw, Mapping):
        reader.problem(path, "must be a table with at least `id`, `type` and `text`")
        return None
    reader.unknown_keys(raw, QUESTION_KEYS, f"{path}.")
    question_id = raw.get("id")
    if not isinstance(question_id, str) or not question_id.isidentifier():
        reader.problem(f"{path}.id", "must be a name of letters, digits and _ (e.g. nps, why)")
        return None
    try:
        kind = QuestionKind(str(raw.get("type")))
    except ValueError:
        kinds = ", ".join(k.value for k in QuestionKind)
        reader.problem(f"{path}.type", f"must be one of: {kinds}")
        return None
    text = reader.localized(raw.get("text"), f"{path}.text")
    points = reader.typed(raw.get("points"), int, f"{path}.points", 5)
    if kind is QuestionKind.RATING and not 2 <= points <= 10:
        reader.problem(f"{path}.points", "a rating has 2 to 10 points")
    max_length = reader.typed(raw.get("max_length"), int, f"{path}.max_length", 1000)
    if not 1 <= max_length <= 4000:
        reader.problem(f"{path}.max_length", "must be between 1 and 4000")
    choices = _choices(reader, raw.get("choices"), f"{path}.choices", kind)
    tags = reader.typed(raw.get("tags"), list, f"{path}.tags", [])
    alert_at_most, alert_on = _alert(reader, raw, path, kind, points, rating_alert)
    if text is None:
        return None
    return Question(
        id=question_id,
        kind=kind,
        text=text,
        optional=reader.typed(raw.get("optional"), bool, f"{path}.optional", False),
        when=reader.condition(raw.get("when"), f"{path}.when"),
        points=points,
        low_label=reader.localized(raw.get("low_label"), f"{path}.low_label", required=False),
        high_label=reader.localized(raw.get("high_label"), f"{path}.high_label", required=False),
        choices=choices,
        max_length=max_length,
        tags=frozenset(str(tag) for tag in tags),
        alert_at_most=alert_at_most,
        alert_on=alert_on,
    )


def _alert(
    reader: _Reader,
    raw: Mapping[str, Any],
    path: str,
    kind: QuestionKind,
    points: int,
    rating_alert: int | None,
) -> tuple[int | None, bool | None]:
    """A question's alert rule: `alert_at_most` on a scale (a survey's own applies to its
    ratings), `alert_on = "yes" | "no"` on a yes/no question."""
    at_most = reader.typed(raw.get("alert_at_most"), int, f"{path}.alert_at_most", None)
    bounds = FIXED_SCALES.get(kind, (1, points) if kind is QuestionKind.RATING else None)
    if at_most is not None:
        if bounds is None:
            reader.problem(
                f"{path}.alert_at_most",
                "only a scale question (nps, csat, ces, rating) alerts at a score;"
                ' a yes_no question takes alert_on = "yes" or "no"',
            )
            at_most = None
        elif not bounds[0] <= at_most < bounds[1]:
            reader.problem(
                f"{path}.alert_at_most",
                f"must be from {bounds[0]} to {bounds[1] - 1} on this scale",
            )
            at_most = None
    elif kind is QuestionKind.RATING and rating_alert is not None:
        if 1 <= rating_alert < points:
            at_most = rating_alert
        else:
            reader.problem("alert_at_most", f"must be from 1 to {points - 1} for {path}")
    raw_on = raw.get("alert_on")
    alert_on = None
    if raw_on is not None:
        if kind is not QuestionKind.YES_NO or raw_on not in ("yes", "no"):
            reader.problem(
                f"{path}.alert_on", 'only a yes_no question takes alert_on = "yes" or "no"'
            )
        else:
            alert_on = raw_on == "yes"
    return at_most, alert_on


def _choices(reader: _Reader, raw: Any, path: str, kind: QuestionKind) -> tuple[Choice, ...]:
    if kind is not QuestionKind.CHOICE:
        if raw is not None:
            reader.problem(path, "only a `choice` question has choices")
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        reader.problem(path, "a choice question needs a list of at least two choices")
        return ()
    choices: list[Choice] = []
    for index, item in enumerate(raw):
        item_path = f"{path}[{index}]"
        if isinstance(item, str):
            value = "".join(ch if ch.isalnum() else "_" for ch in item.lower()).strip("_") or str(
                index + 1
            )
            choices.append(Choice(value, {reader.default_language: item}))
        elif isinstance(item, Mapping) and isinstance(item.get("value"), str):
            label = reader.localized(item.get("label", item["value"]), f"{item_path}.label")
            if label:
                choices.append(Choice(item["value"], label))
        else:
            reader.problem(
                item_path, 'must be a text or { value = "…", label = { fi = "…", en = "…" } }'
            )
    if len({c.value for c in choices}) != len(choices):
        reader.problem(path, "two choices have the same value")
    return tuple(choices)
