"""`palaute demo-data`: months of believable feedback, so a newcomer sees reports at once.

Everything is written through the storage repositories, like live answers: contacts on
Telegram, Slack and the web, invitations sent over the period (fewer on Sundays), about two in
three answered, scores that differ by store and improve over time with one bad delivery week,
comments in Finnish and English, two market days for the event survey, and follow-ups of the
recent detractors, some taken and resolved.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.channels import registry
from conversations.questions import AnswerValue, QuestionKind
from conversations.survey import Survey
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store
from storage.unit_of_work import UnitOfWork

DAY = 86400.0
FIRST_NAMES = (
    "Aino", "Eino", "Helmi", "Onni", "Sofia", "Leo", "Ella", "Väinö", "Aada", "Elias", "Emma",
    "Oliver", "Lilja", "Eetu", "Venla", "Niilo", "Hilla", "Toivo", "Saara", "Matti", "Anna",
    "Mikko", "Laura", "Jussi", "Kaisa", "Pekka", "Johanna", "Sami", "Liisa", "Ville",
)  # fmt: skip
LAST_INITIALS = "AHJKLMNPRSTV"
STORES = {"Kamppi": 0.8, "Sello": 0.2, "Itis": -0.7, "Tampere": 0.1}
AGENTS = ("Riikka", "Tommi", "Mervi", "Jani")
TEAM = ("Anna", "Ville", "Sanna")
MARKET_DAYS = (("Kirppis", 58), ("Kesämarkkinat", 16))
"""Event name and how many days ago it was (skipped when outside the period)."""

COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "fi": {
        "good": (
            "Nopea toimitus ja ystävällinen palvelu.", "Kaikki sujui hienosti, kiitos!",
            "Myyjä osasi neuvoa todella hyvin.", "Paketti tuli päivää etuajassa.",
            "Helppo asioida, suosittelen.", "Asiakaspalvelija ratkaisi asian heti.",
        ),
        "okay": (
            "Ihan ok, mutta jonottaa piti.", "Hyvä palvelu, hinnat vähän korkeat.",
            "Toimitus kesti pari päivää luvattua kauemmin.", "Sovellus voisi olla selkeämpi.",
        ),
        "bad": (
            "Paketti myöhästyi viikon eikä kukaan ilmoittanut.", "Tuote oli rikki ja palautus vaikea.",
            "Asiakaspalveluun ei päässyt läpi puhelimella.", "Kassalla oli vain yksi myyjä auki.",
            "Lasku oli väärin jo toisen kerran.", "Tilaus peruttiin ilman selitystä.",
        ),
        "fix": (
            "Kertokaa ajoissa, jos toimitus myöhästyy.", "Lisää henkilökuntaa iltaisin.",
            "Helpompi palautusprosessi.", "Chat-tuki myös viikonloppuisin.",
        ),
    },
    "en": {
        "good": (
            "Fast delivery and friendly staff.", "Everything went smoothly, thanks!",
            "The assistant really knew the products.", "Parcel arrived a day early.",
            "So easy to deal with, would recommend.", "Support fixed my issue on the first call.",
        ),
        "okay": (
            "Fine, but I had to queue.", "Good service, prices a bit high.",
            "Delivery took a couple of days longer than promised.", "The app could be clearer.",
        ),
        "bad": (
            "Parcel was a week late and nobody told me.", "The product was broken and returning it was a pain.",
            "Could not get through to support by phone.", "Only one checkout open on a Saturday.",
            "Wrong invoice for the second time.", "My order was cancelled without explanation.",
        ),
        "fix": (
            "Tell me early if a delivery is late.", "More staff in the evenings.",
            "Make returns easier.", "Chat support on weekends too.",
        ),
    },
}  # fmt: skip


@dataclass
class DemoStats:
    contacts: int = 0
    invitations: int = 0
    responses: int = 0
    answers: int = 0
    followups: int = 0
    by_survey: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Touchpoint:
    name: str
    survey: str
    weight: float
    properties: Callable[[random.Random], dict[str, str]]


TOUCHPOINTS = (
    _Touchpoint("order_delivered", "nps", 0.45, lambda r: {"store": _store(r)}),
    _Touchpoint("store_visit", "csat", 0.3, lambda r: {"store": _store(r)}),
    _Touchpoint("support_call", "ces", 0.25, lambda r: {"agent": r.choice(AGENTS)}),
)


def _store(rng: random.Random) -> str:
    return rng.choices(list(STORES), weights=(4, 3, 3, 2))[0]


def _mood(
    rng: random.Random, age_days: float, days: int, touchpoint: str, props: dict[str, str]
) -> float:
    """A customer's mood, -3..3: better over time, per store, worse in one bad delivery week."""
    trend = 0.9 * (1 - age_days / max(days, 1))
    store = STORES.get(props.get("store", ""), 0.0)
    slump = -1.6 if touchpoint == "order_delivered" and 38 <= age_days <= 45 else 0.0
    return rng.gauss(trend + store + slump, 1.3)


def _scale(kind: QuestionKind, mood: float, points: int, rng: random.Random) -> int:
    low, high = {
        QuestionKind.NPS: (0, 10),
        QuestionKind.CSAT: (1, 5),
        QuestionKind.CES: (1, 7),
    }.get(kind, (1, points))
    # A logistic curve: most answers land in the upper half, as real ones do.
    share = 1 / (1 + math.exp(-(mood + 1.1)))
    value = low + share * (high - low) + rng.gauss(0, 0.6)
    return int(min(high, max(low, round(value))))


def _sentiment(kind: QuestionKind, value: int) -> str:
    if kind is QuestionKind.NPS:
        return "good" if value >= 9 else "okay" if value >= 7 else "bad"
    if kind is QuestionKind.CES:
        return "good" if value >= 6 else "okay" if value >= 4 else "bad"
    return "good" if value >= 4 else "okay" if value >= 3 else "bad"


async def fill_demo(
    store: Store,
    surveys: dict[str, Survey],
    *,
    now: float,
    days: int = 90,
    contacts: int = 500,
    timezone: str = "Europe/Helsinki",
    seed: int | None = None,
) -> DemoStats:
    rng = random.Random(seed)
    zone = ZoneInfo(timezone)
    stats = DemoStats()
    start = now - days * DAY
    people: list[tuple[int, str, str]] = []
    kinds = {spec.name: spec.demo for spec in registry.specs() if spec.demo is not None}
    channels = sorted(kinds, key=lambda name: -kinds[name].share)  # the same seed, the same data
    async with store.database.transaction() as connection:
        for index in range(contacts):
            channel = rng.choices(channels, weights=[kinds[c].share for c in channels])[0]
            # Every channel makes up an address, in share order, and one is used: the random
            # draws stay as they were, so a seed keeps writing the same demo data.
            address = {c: kinds[c].address(rng, index) for c in channels}[channel]
            language = "fi" if rng.random() < 0.7 else "en"
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_INITIALS)}."
            contact_id = await store.contacts.ensure(
                connection, channel=channel, address=address, now=start, display_name=name,
                language=language,
            )  # fmt: skip
            people.append((contact_id, channel, language))
    stats.contacts = len(people)

    plans = _plan_sends(rng, zone, now=now, days=days, contacts=contacts)
    detractors: list[tuple[int, float]] = []
    sent: list[tuple[int, float]] = []
    async with store.database.transaction() as connection:
        for sent_at, planned, event in plans:
            if sent_at >= now:
                continue
            contact_id, channel, language = rng.choice(people)
            if planned is None:
                name, survey_id = "market_day", "event"
                properties = {"event_name": str(event)}
            else:
                name, survey_id = planned.name, planned.survey
                properties = planned.properties(rng)
            survey = surveys.get(survey_id)
            if survey is None:
                continue
            invitation_id = await store.invitations.insert(
                connection,
                NewInvitation(
                    touchpoint=name, survey_id=survey_id, contact_id=contact_id, channel=channel,
                    occurred_at=sent_at - 1800, properties=properties,
                    state=InvitationState.SENT, reason=None, due_at=sent_at, remind_at=None,
                    expires_at=sent_at + 7 * DAY, language=language,
                ),
                now=sent_at,
            )  # fmt: skip
            stats.invitations += 1
            sent.append((invitation_id, sent_at))
            stats.by_survey[survey_id] = stats.by_survey.get(survey_id, 0) + 1
            answer_rate = kinds[channel].answer_rate
            answered_at = sent_at + rng.expovariate(1 / 1800)
            if rng.random() > answer_rate or answered_at >= now:
                if now - sent_at > 7 * DAY:
                    await store.invitations.transition(
                        connection, invitation_id, InvitationState.EXPIRED,
                        now=sent_at + 7 * DAY, reason="not answered in time",
                    )  # fmt: skip
                continue
            invitation = await store.invitations.get(invitation_id)
            assert invitation is not None
            age = (now - sent_at) / DAY
            mood = _mood(rng, age, days, name, properties)
            given: dict[str, AnswerValue] = {}
            abandoned = rng.random() < 0.1
            at = answered_at
            for question in survey.questions:
                if question.when is not None and not question.when.evaluate(given):
                    continue
                value: AnswerValue | None
                if question.kind is QuestionKind.TEXT:
                    if abandoned:
                        break
                    value = _comment(rng, survey, given, language, question.id)
                elif question.is_scale:
                    value = _scale(question.kind, mood, question.points, rng)
                elif question.kind is QuestionKind.YES_NO:
                    value = rng.random() < 0.8 + mood / 20
                elif question.choices:
                    value = rng.choice(question.choices).value
                else:
                    continue
                await store.answers.insert(connection, invitation, channel, question, value, now=at)
                stats.answers += 1
                if value is not None:
                    given[question.id] = value
                at += rng.uniform(4, 90)
            stats.responses += 1
            await store.invitations.transition(
                connection, invitation_id, InvitationState.ANSWERING, now=answered_at
            )
            if not abandoned:
                await store.invitations.transition(
                    connection, invitation_id, InvitationState.COMPLETED, now=at
                )
            headline = survey.headline
            if (
                headline is not None
                and _sentiment(headline.kind, int(given.get(headline.id, 10))) == "bad"
            ):
                detractors.append((invitation_id, answered_at))
        stats.followups = await _follow_up(store, connection, rng, detractors, now=now)
    for invitation_id, sent_at in sent:
        await store.invitations.mark_delivered(invitation_id, now=sent_at)
    return stats


def _plan_sends(
    rng: random.Random, zone: ZoneInfo, *, now: float, days: int, contacts: int
) -> list[tuple[float, _Touchpoint | None, str | None]]:
    """(when, touchpoint or None for a market day, event name), oldest first."""
    start = now - days * DAY
    plans: list[tuple[float, _Touchpoint | None, str | None]] = []
    per_day = contacts * 1.4 / 30
    for day in range(days):
        moment = datetime.fromtimestamp(start + day * DAY, zone)
        weekday = moment.weekday()
        count = rng.gauss(per_day * (0.5 if weekday == 6 else 1.15 if weekday == 0 else 1.0), 2)
        for _ in range(max(0, round(count))):
            local = moment.replace(hour=rng.randint(9, 19), minute=rng.randrange(60))
            touchpoint = rng.choices(TOUCHPOINTS, weights=[t.weight for t in TOUCHPOINTS])[0]
            plans.append((local.timestamp(), touchpoint, None))
    for event_name, ago in MARKET_DAYS:
        if ago >= days:
            continue
        event_day = datetime.fromtimestamp(now - ago * DAY, zone).replace(hour=18, minute=0)
        for _ in range(rng.randint(35, 60)):
            plans.append((event_day.timestamp() + rng.uniform(0, 3600), None, event_name))
    plans.sort(key=lambda plan: plan[0])
    return plans


async def _follow_up(
    store: Store,
    connection: UnitOfWork,
    rng: random.Random,
    detractors: list[tuple[int, float]],
    *,
    now: float,
) -> int:
    """Follow-ups of the last three weeks' detractors: older ones mostly resolved."""
    opened = 0
    for invitation_id, answered_at in detractors:
        if now - answered_at > 21 * DAY:
            continue
        followup_id = await store.followups.create(connection, invitation_id, now=answered_at)
        if followup_id is None:
            continue
        opened += 1
        age = now - answered_at
        roll = rng.random()
        owner = rng.choice(TEAM)
        if roll < (0.05 if age > 2 * DAY else 0.4) or age < 3600:
            continue
        claimed = answered_at + rng.uniform(600, min(age, DAY))
        await store.followups.claim(connection, followup_id, owner, now=claimed)
        if roll < 0.9 and age > 2 * DAY:
            resolved = claimed + rng.uniform(3600, max(3600.0, min(now - claimed, 3 * DAY)))
            await store.followups.resolve(connection, followup_id, owner, now=min(resolved, now))
    return opened


def _comment(
    rng: random.Random,
    survey: Survey,
    given: dict[str, AnswerValue],
    language: str,
    question_id: str,
) -> str | None:
    headline = survey.headline
    score = given.get(headline.id) if headline else None
    if isinstance(score, int) and headline is not None:
        sentiment = _sentiment(headline.kind, score)
    else:
        ratings = [v for v in given.values() if isinstance(v, int) and not isinstance(v, bool)]
        average = sum(ratings) / len(ratings) if ratings else 4
        sentiment = "good" if average >= 4 else "okay" if average >= 3 else "bad"
    pool = COMMENTS.get(language, COMMENTS["en"])
    if question_id == "fix":
        return rng.choice(pool["fix"]) if rng.random() < 0.6 else None
    chance = {"good": 0.35, "okay": 0.45, "bad": 0.7}[sentiment]
    return rng.choice(pool[sentiment]) if rng.random() < chance else None


def describe(stats: DemoStats, days: int, now: float) -> str:
    when = datetime.fromtimestamp(now, UTC) - timedelta(days=days)
    surveys = ", ".join(f"{n} {s}" for s, n in sorted(stats.by_survey.items()))
    return (
        f"Wrote {stats.contacts} contacts, {stats.invitations} invitations ({surveys}), "
        f"{stats.responses} responses with {stats.answers} answers and {stats.followups} "
        f"follow-ups, since {when:%Y-%m-%d}."
    )
