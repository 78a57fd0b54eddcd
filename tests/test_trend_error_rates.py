"""How often "up" or "down" is said: on noise at most 5 in 100, on a real shift nearly always.

Seeded simulations through the decision `rolling_trends` makes for every question: two windows of
answers are drawn, each becomes the histogram SQL would return, and `QuestionTrend.trend` says
whether it sees a change. The rates asserted are the promises in docs/reporting.md.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest

from bot.team.scores import QuestionTrend, Trend, question_score
from storage.reports import QuestionAggregate

MIN_N = 10
TRIALS = 2000


def _called(kind: str, before: Sequence[int], after: Sequence[int]) -> Trend:
    def score(values: Sequence[int]) -> QuestionAggregate:
        return QuestionAggregate("q", kind, dict(Counter(values)))

    previous = question_score(score(before))
    current = question_score(score(after))
    return QuestionTrend(current, previous, MIN_N).trend


def _rate(
    kind: str,
    population: Sequence[int],
    shifted: Sequence[int],
    n: int,
    seed: int,
    trials: int = TRIALS,
) -> float:
    """The share of trials called a change, window before from `population`, after from `shifted`."""
    rng = random.Random(seed)
    changes = 0
    for _ in range(trials):
        before = rng.choices(population, k=n)
        after = rng.choices(shifted, k=n)
        changes += _called(kind, before, after) in (Trend.UP, Trend.DOWN)
    return changes / trials


def _nps_population(promoters: int, passives: int, detractors: int) -> list[int]:
    """100 answers 0..10, these many promoters, passives and detractors, spread over their values."""
    answers = (
        [10, 9] * (promoters // 2) + [8, 7] * (passives // 2) + [6, 5, 3, 0] * (detractors // 4)
    )
    answers += [9] * (promoters % 2) + [7] * (passives % 2) + [6] * (detractors % 4)
    return answers


# An everyday NPS of +30: half promoters, a third passive, a fifth detractors.
NPS_TYPICAL = _nps_population(50, 30, 20)
# A split audience with NPS 0: the widest spread, the hardest case for a test.
NPS_SPLIT = _nps_population(45, 10, 45)
CSAT_HALF = [5, 4, 3, 2]  # 50 % satisfied
CES_SPREAD = [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("n", [MIN_N, 15, 30, 60])
@pytest.mark.parametrize(
    ("kind", "population"),
    [("nps", NPS_TYPICAL), ("nps", NPS_SPLIT), ("csat", CSAT_HALF), ("ces", CES_SPREAD)],
    ids=["nps+30", "nps-split", "csat50", "ces"],
)
def test_noise_is_called_a_change_at_most_5_percent_of_the_time(
    kind: str, population: list[int], n: int
) -> None:
    # Both windows from the same customers: any "up" or "down" is a false alarm. Before the
    # two-sample tests NPS said so 11 % of the time at n = 10, CSAT at 50 % 11.5 %.
    rate = _rate(kind, population, population, n, seed=n)
    assert rate <= 0.05, f"{kind} at n = {n}: {rate:.1%} false alarms"


def test_a_30_point_nps_shift_at_200_answers_is_caught_95_percent_of_the_time() -> None:
    before = _nps_population(40, 30, 30)  # NPS +10
    after = _nps_population(55, 30, 15)  # NPS +40
    rate = _rate("nps", before, after, 200, seed=7, trials=1000)
    assert rate >= 0.95, f"caught {rate:.1%}"


def test_unequal_windows_keep_the_false_alarm_rate() -> None:
    rng = random.Random(3)
    alarms = 0
    for _ in range(TRIALS):
        before = rng.choices(NPS_TYPICAL, k=60)
        after = rng.choices(NPS_TYPICAL, k=MIN_N)
        alarms += _called("nps", before, after) in (Trend.UP, Trend.DOWN)
    assert alarms / TRIALS <= 0.05
