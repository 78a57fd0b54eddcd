"""Tests for conversations.scoring.

Reference computations here are written out plainly from individual answers, so they
do not share code (or mistakes) with the module under test.
"""

import math
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.scoring import (
    Interval,
    MeanScore,
    NpsScore,
    ProportionScore,
    csat_from_values,
    csat_score,
    is_clear_change,
    mean_from_summary,
    mean_score,
    nps_from_histogram,
    nps_from_values,
    nps_score,
    t_quantile,
    z_quantile,
)

Z95 = 1.959963984540054

# Two-sided 95% critical values t_{0.975, df} from published tables.
T975 = {
    1: 12.706204736,
    2: 4.30265273,
    4: 2.776445105,
    5: 2.57058184,
    10: 2.22813885,
    30: 2.04227246,
    100: 1.98397152,
}

nps_answers = st.lists(st.integers(min_value=0, max_value=10), max_size=300)
csat_answers = st.lists(st.integers(min_value=1, max_value=5), max_size=300)


# --- reference computations ------------------------------------------------------


def reference_nps(values: list[int]) -> float:
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    return (promoters - detractors) / len(values) * 100


def reference_adjusted_wald(values: list[int]) -> tuple[float, float]:
    """Rocks (2016): add 3/4 to promoters and detractors, 3/2 to passives."""
    adjusted_n = len(values) + 3
    p = (sum(1 for v in values if v >= 9) + 0.75) / adjusted_n
    d = (sum(1 for v in values if v <= 6) + 0.75) / adjusted_n
    variance = (p + d - (p - d) ** 2) / adjusted_n
    low = max(-1.0, p - d - Z95 * math.sqrt(variance))
    high = min(1.0, p - d + Z95 * math.sqrt(variance))
    return low * 100, high * 100


def reference_wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson bounds as the roots of (p̂ - π)² = z² π (1 - π) / n."""
    share = successes / n
    a = 1 + Z95**2 / n
    b = -(2 * share + Z95**2 / n)
    c = share**2
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a) * 100, (-b + root) / (2 * a) * 100


def reference_t_cdf_above_zero(t: float, df: int, steps: int = 4000) -> float:
    """P(0 < T <= t) by Simpson's rule on the Student t density."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(x: float) -> float:
        return math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))

    h = t / steps
    total = density(0) + density(t)
    for i in range(1, steps):
        total += (4 if i % 2 else 2) * density(i * h)
    return total * h / 3


# --- quantiles -------------------------------------------------------------------


def test_z_quantile_95() -> None:
    assert z_quantile(0.95) == pytest.approx(1.959963985, abs=1e-9)
    assert z_quantile() == pytest.approx(Z95, abs=1e-12)


@pytest.mark.parametrize(("df", "expected"), sorted(T975.items()))
def test_t_quantile_matches_table(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-6)
    # The table values are rounded to the last printed digit.
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-8)


@given(st.floats(min_value=0.5001, max_value=0.999999))
def test_t_quantile_closed_forms_for_one_and_two_df(p: float) -> None:
    # df = 1 is the Cauchy distribution; df = 2 has an algebraic inverse.
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0.55, max_value=0.995))
def test_t_quantile_inverts_the_density(df: int, p: float) -> None:
    t = t_quantile(p, df)
    assert reference_t_cdf_above_zero(t, df) == pytest.approx(p - 0.5, abs=1e-9)


@given(st.floats(min_value=0.001, max_value=0.999), st.integers(min_value=1, max_value=10**7))
def test_t_quantile_is_symmetric(p: float, df: int) -> None:
    assert t_quantile(1 - p, df) == pytest.approx(-t_quantile(p, df), rel=1e-9, abs=1e-12)


def test_t_quantile_shrinks_towards_z_as_df_grows() -> None:
    dfs = [1, 2, 5, 10, 100, 1_000, 9_999, 10_000, 10_001, 10**5, 10**7, 10**9]
    quantiles = [t_quantile(0.975, df) for df in dfs]
    assert quantiles == sorted(quantiles, reverse=True)
    assert all(q > Z95 for q in quantiles)
    # First-order expansion t ≈ z + (z³ + z) / (4 df), accurate to O(1/df²).
    for df in [10**5, 10**7, 10**9]:
        assert t_quantile(0.975, df) == pytest.approx(Z95 + (Z95**3 + Z95) / (4 * df), abs=1e-9)
    assert t_quantile(0.975, math.inf) == pytest.approx(Z95, abs=1e-12)
    # The switch between the exact bisection and the series is seamless.
    assert t_quantile(0.975, 10_000) == pytest.approx(t_quantile(0.975, 10_000.001), abs=1e-10)


@pytest.mark.parametrize("p", [0, 1, -0.1, 1.5, math.nan])
def test_t_quantile_rejects_bad_probability(p: float) -> None:
    with pytest.raises(ValueError, match="p must be strictly between 0 and 1"):
        t_quantile(p, 5)


@pytest.mark.parametrize("df", [0, -1, math.nan])
def test_t_quantile_rejects_bad_df(df: float) -> None:
    with pytest.raises(ValueError, match="degrees of freedom must be positive"):
        t_quantile(0.975, df)


# --- NPS -------------------------------------------------------------------------


def test_nps_known_example() -> None:
    score = nps_score(50, 30, 20)
    assert score == NpsScore(
        n=100,
        promoters=50,
        passives=30,
        detractors=20,
        nps=30.0,
        interval=score.interval,
        margin_of_error=score.margin_of_error,
    )
    # By hand: n' = 103, p' = 50.75/103, d' = 20.75/103, nps' = 30/103 ≈ 0.291262,
    # Var = (71.5/103 - (30/103)²)/103 ≈ 0.0059170, half-width = 1.96 * 0.076922.
    centre = 30 / 103
    half_width = Z95 * math.sqrt((71.5 / 103 - centre**2) / 103)
    assert score.interval is not None
    assert score.interval.low == pytest.approx((centre - half_width) * 100, abs=1e-9)
    assert score.interval.high == pytest.approx((centre + half_width) * 100, abs=1e-9)
    assert score.interval.low == pytest.approx(14.0511, abs=1e-4)
    assert score.interval.high == pytest.approx(44.2013, abs=1e-4)
    assert score.margin_of_error == pytest.approx(15.0751, abs=1e-4)


@given(nps_answers.filter(bool))
def test_nps_from_values_matches_counted_formula(values: list[int]) -> None:
    score = nps_from_values(values)
    assert score.n == len(values)
    assert score.promoters == sum(1 for v in values if v in (9, 10))
    assert score.passives == sum(1 for v in values if v in (7, 8))
    assert score.detractors == sum(1 for v in values if 0 <= v <= 6)
    assert score.nps == pytest.approx(reference_nps(values), abs=1e-9)
    assert score == nps_score(score.promoters, score.passives, score.detractors)


@given(nps_answers)
def test_nps_from_a_histogram_is_nps_from_the_values(values: list[int]) -> None:
    assert nps_from_histogram(Counter(values)) == nps_from_values(values)


def test_nps_histogram_keys_outside_the_scale_are_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.10"):
        nps_from_histogram({11: 3})


@given(nps_answers.filter(bool))
def test_nps_interval_matches_adjusted_wald_reference(values: list[int]) -> None:
    score = nps_from_values(values)
    low, high = reference_adjusted_wald(values)
    assert score.interval is not None
    assert score.interval.low == pytest.approx(low, abs=1e-9)
    assert score.interval.high == pytest.approx(high, abs=1e-9)
    assert score.margin_of_error == pytest.approx((high - low) / 2, abs=1e-9)
    assert -100 <= score.interval.low < score.interval.high <= 100


@given(
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=2000),
)
def test_nps_interval_contains_adjusted_centre_always(
    promoters: int, passives: int, detractors: int
) -> None:
    score = nps_score(promoters, passives, detractors)
    if score.n == 0:
        return
    assert score.interval is not None
    centre = (promoters - detractors) / (score.n + 3) * 100
    assert score.interval.low <= centre <= score.interval.high


@given(
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=2000),
)
def test_nps_interval_contains_plain_nps_from_two_answers(
    promoters: int, passives: int, detractors: int
) -> None:
    # The adjusted centre is pulled towards 0, so with a single answer the plain NPS
    # of ±100 falls outside (see test_nps_single_answer). From n = 2 on it does not
    # (checked exhaustively for n <= 150 while writing these tests).
    score = nps_score(promoters, passives, detractors)
    if score.n < 2:
        return
    assert score.interval is not None
    assert score.nps is not None
    assert score.interval.low <= score.nps <= score.interval.high


def test_nps_interval_contains_plain_nps_exhaustively_for_small_n() -> None:
    for n in range(2, 41):
        for promoters in range(n + 1):
            for detractors in range(n + 1 - promoters):
                score = nps_score(promoters, n - promoters - detractors, detractors)
                assert score.interval is not None
                assert score.nps is not None
                assert score.interval.low <= score.nps <= score.interval.high


@given(
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=50),
)
def test_nps_margin_shrinks_as_n_grows(
    promoters: int, passives: int, detractors: int, k: int, extra: int
) -> None:
    if promoters + passives + detractors == 0:
        return
    small = nps_score(k * promoters, k * passives, k * detractors)
    big_k = k + extra
    big = nps_score(big_k * promoters, big_k * passives, big_k * detractors)
    assert small.margin_of_error is not None
    assert big.margin_of_error is not None
    assert big.margin_of_error < small.margin_of_error


def test_nps_no_answers() -> None:
    assert nps_score(0, 0, 0) == NpsScore(0, 0, 0, 0, None, None, None)
    assert nps_from_values([]) == NpsScore(0, 0, 0, 0, None, None, None)


def test_nps_single_answer() -> None:
    # n' = 4, p' = 1.75/4, d' = 0.75/4, centre 0.25, Var = (0.625 - 0.0625)/4.
    half_width = Z95 * math.sqrt((0.625 - 0.0625) / 4)
    score = nps_from_values([10])
    assert score.nps == 100.0
    assert score.interval is not None
    assert score.interval.low == pytest.approx((0.25 - half_width) * 100, abs=1e-9)
    assert score.interval.high == pytest.approx((0.25 + half_width) * 100, abs=1e-9)
    assert score.interval.high < score.nps  # the documented small-n exception

    detractor = nps_from_values([0])
    assert detractor.nps == -100.0
    assert detractor.interval == Interval(-score.interval.high, -score.interval.low)
    passive = nps_from_values([8])
    assert passive.nps == 0.0
    assert passive.interval is not None
    assert passive.interval.low == pytest.approx(-passive.interval.high, abs=1e-12)


def test_nps_all_promoters_clips_at_100() -> None:
    score = nps_score(100, 0, 0)
    assert score.nps == 100.0
    assert score.interval is not None
    assert score.interval.high == 100.0
    assert 90 < score.interval.low < 100
    assert score.margin_of_error == pytest.approx((100 - score.interval.low) / 2)

    detractors = nps_score(0, 0, 100)
    assert detractors.nps == -100.0
    assert detractors.interval == Interval(-100.0, -score.interval.low)


def test_nps_wider_at_higher_confidence() -> None:
    at_95 = nps_score(40, 30, 30)
    at_99 = nps_score(40, 30, 30, confidence=0.99)
    assert at_95.margin_of_error is not None
    assert at_99.margin_of_error is not None
    assert at_99.margin_of_error > at_95.margin_of_error
    assert at_99.nps == at_95.nps


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([11], "between 0 and 10, got 11"),
        ([5, -1], "between 0 and 10, got -1"),
        ([7.5], "must be integers 0..10, got 7.5"),
        (["9"], "must be integers 0..10, got '9'"),
        ([True], "must be integers 0..10, got True"),
    ],
)
def test_nps_from_values_rejects_invalid_answers(values: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        nps_from_values(values)  # type: ignore[arg-type]


def test_nps_score_rejects_invalid_counts() -> None:
    with pytest.raises(ValueError, match="promoters must not be negative, got -1"):
        nps_score(-1, 0, 0)
    with pytest.raises(ValueError, match=r"detractors must be an integer count, got 1\.5"):
        nps_score(1, 0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        nps_score(1, 1, 1, confidence=95)


# --- CSAT ------------------------------------------------------------------------


def test_csat_known_example() -> None:
    # 8 of 10 satisfied: the textbook Wilson interval is 49.0% to 94.3%.
    score = csat_score(8, 10)
    assert score.percent == 80.0
    assert score.interval is not None
    assert score.interval.low == pytest.approx(49.0162, abs=1e-4)
    assert score.interval.high == pytest.approx(94.3318, abs=1e-4)
    assert score.margin_of_error == pytest.approx(22.6578, abs=1e-4)


@given(csat_answers.filter(bool))
def test_csat_matches_wilson_reference(values: list[int]) -> None:
    satisfied = sum(1 for v in values if v in (4, 5))
    score = csat_from_values(values)
    assert score.n == len(values)
    assert score.successes == satisfied
    assert score.percent == pytest.approx(satisfied / len(values) * 100, abs=1e-9)
    low, high = reference_wilson(satisfied, len(values))
    assert score.interval is not None
    assert score.interval.low == pytest.approx(low, abs=1e-9)
    assert score.interval.high == pytest.approx(high, abs=1e-9)
    assert score.margin_of_error == pytest.approx((high - low) / 2, abs=1e-9)


@given(st.integers(min_value=1, max_value=10**6), st.data())
def test_csat_interval_contains_share(n: int, data: st.DataObject) -> None:
    satisfied = data.draw(st.integers(min_value=0, max_value=n))
    score = csat_score(satisfied, n)
    assert score.interval is not None
    assert score.percent is not None
    assert 0 <= score.interval.low <= score.percent <= score.interval.high <= 100


@given(
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=50),
)
def test_csat_margin_shrinks_as_n_grows(
    satisfied: int, unsatisfied: int, k: int, extra: int
) -> None:
    n = satisfied + unsatisfied
    small = csat_score(k * satisfied, k * n)
    big = csat_score((k + extra) * satisfied, (k + extra) * n)
    assert small.margin_of_error is not None
    assert big.margin_of_error is not None
    assert big.margin_of_error < small.margin_of_error


def test_csat_edges() -> None:
    assert csat_score(0, 0) == ProportionScore(0, 0, None, None, None)
    assert csat_from_values([]) == ProportionScore(0, 0, None, None, None)
    everyone = csat_score(10, 10)
    assert everyone.percent == 100.0
    assert everyone.interval is not None
    assert everyone.interval.high == 100.0
    # At 100% the Wilson lower bound is n / (n + z²).
    assert everyone.interval.low == pytest.approx(10 / (10 + Z95**2) * 100, abs=1e-9)
    nobody = csat_score(0, 10)
    assert nobody.interval == Interval(0.0, 100 - everyone.interval.low)
    single = csat_from_values([4])
    assert single.percent == 100.0
    assert single.interval is not None
    assert single.interval.low == pytest.approx(1 / (1 + Z95**2) * 100, abs=1e-9)


def test_csat_counts_only_four_and_five() -> None:
    score = csat_from_values([1, 2, 3, 4, 5])
    assert (score.n, score.successes, score.percent) == (5, 2, 40.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0], "between 1 and 5, got 0"),
        ([3, 6], "between 1 and 5, got 6"),
        ([4.0], "must be integers 1..5, got 4.0"),
    ],
)
def test_csat_from_values_rejects_invalid_answers(values: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        csat_from_values(values)  # type: ignore[arg-type]


def test_csat_score_rejects_invalid_counts() -> None:
    with pytest.raises(ValueError, match=r"satisfied \(11\) cannot exceed n \(10\)"):
        csat_score(11, 10)
    with pytest.raises(ValueError, match="n must not be negative"):
        csat_score(0, -1)
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        csat_score(1, 2, confidence=1.0)


# --- means -----------------------------------------------------------------------


def test_mean_known_example() -> None:
    score = mean_score([1, 2, 3, 4, 5])
    assert score.n == 5
    assert score.mean == 3.0
    assert score.stdev == pytest.approx(math.sqrt(2.5), abs=1e-12)
    moe = T975[4] * math.sqrt(2.5) / math.sqrt(5)
    assert score.margin_of_error == pytest.approx(moe, abs=1e-8)
    assert score.interval is not None
    assert score.interval.low == pytest.approx(3 - moe, abs=1e-8)
    assert score.interval.high == pytest.approx(3 + moe, abs=1e-8)


@given(
    st.sampled_from(sorted(T975)).flatmap(
        lambda df: st.lists(
            st.floats(min_value=-100, max_value=100, allow_nan=False),
            min_size=df + 1,
            max_size=df + 1,
        )
    )
)
def test_mean_matches_t_interval_reference(values: list[float]) -> None:
    n = len(values)
    mean = sum(values) / n
    stdev = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1))
    moe = T975[n - 1] * stdev / math.sqrt(n)
    score = mean_score(values)
    assert score.n == n
    assert score.mean == pytest.approx(mean, abs=1e-9)
    assert score.stdev == pytest.approx(stdev, abs=1e-9)
    assert score.margin_of_error == pytest.approx(moe, abs=1e-6)
    assert score.interval is not None
    assert score.mean is not None
    assert score.interval.low <= score.mean <= score.interval.high


@given(
    st.one_of(
        st.lists(st.integers(min_value=1, max_value=7), max_size=500),
        st.lists(st.integers(min_value=0, max_value=10), max_size=500),
        st.lists(st.integers(min_value=-1000, max_value=1000), max_size=500),
    ),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_mean_from_summary_equals_mean_score_for_integer_answers(
    values: list[int], confidence: float
) -> None:
    # The sums SQLite returns for integer columns.
    summary = mean_from_summary(
        len(values), float(sum(values)), float(sum(v * v for v in values)), confidence
    )
    direct = mean_score(values, confidence)
    assert_mean_scores_close(summary, direct, abs_tol=1e-9)


@given(st.lists(st.integers(min_value=0, max_value=1000).map(lambda c: c / 100), max_size=300))
def test_mean_from_summary_close_to_mean_score_for_decimal_answers(values: list[float]) -> None:
    # Float sums of squares cancel when the spread is tiny next to the mean, so the
    # stdev (a square root of that difference) is only good to about 1e-7 here.
    summary = mean_from_summary(len(values), sum(values), sum(v * v for v in values))
    direct = mean_score(values)
    assert summary.n == direct.n
    if direct.mean is None:
        assert summary == direct
        return
    assert summary.mean == pytest.approx(direct.mean, abs=1e-9)
    if direct.interval is None:
        assert summary.interval is None
        return
    assert summary.stdev == pytest.approx(direct.stdev, abs=1e-6)
    assert summary.interval is not None
    assert summary.interval.low == pytest.approx(direct.interval.low, abs=1e-5)
    assert summary.interval.high == pytest.approx(direct.interval.high, abs=1e-5)


def assert_mean_scores_close(a: MeanScore, b: MeanScore, abs_tol: float) -> None:
    assert a.n == b.n
    for field in ("mean", "stdev", "margin_of_error"):
        left, right = getattr(a, field), getattr(b, field)
        if right is None:
            assert left is None, field
        else:
            assert left == pytest.approx(right, abs=abs_tol), field
    if b.interval is None:
        assert a.interval is None
    else:
        assert a.interval is not None
        assert a.interval.low == pytest.approx(b.interval.low, abs=abs_tol)
        assert a.interval.high == pytest.approx(b.interval.high, abs=abs_tol)


@given(
    st.lists(st.integers(min_value=1, max_value=7), min_size=2, max_size=40).filter(
        lambda v: len(set(v)) > 1
    ),
    st.integers(min_value=1, max_value=20),
)
def test_mean_margin_shrinks_as_n_grows(values: list[int], k: int) -> None:
    small = mean_score(values * k)
    big = mean_score(values * (k + 1))
    assert small.margin_of_error is not None
    assert big.margin_of_error is not None
    assert big.margin_of_error < small.margin_of_error


def test_mean_edges() -> None:
    assert mean_score([]) == MeanScore(0, None, None, None, None)
    assert mean_from_summary(0, 0.0, 0.0) == MeanScore(0, None, None, None, None)
    assert mean_score([4]) == MeanScore(1, 4.0, None, None, None)
    assert mean_from_summary(1, 4.0, 16.0) == MeanScore(1, 4.0, None, None, None)
    same = mean_score([5, 5, 5])
    assert same == MeanScore(3, 5.0, 0.0, Interval(5.0, 5.0), 0.0)
    assert mean_from_summary(3, 15.0, 75.0) == same
    # df = 1: the interval is wide, t = 12.706.
    pair = mean_score([2, 4])
    assert pair.margin_of_error == pytest.approx(T975[1] * math.sqrt(2) / math.sqrt(2), abs=1e-8)


def test_mean_rejects_invalid_input() -> None:
    with pytest.raises(ValueError, match="values must be finite, got nan"):
        mean_score([1.0, math.nan])
    with pytest.raises(ValueError, match="values must be numbers, got '3'"):
        mean_score([1, "3"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="n must not be negative"):
        mean_from_summary(-1, 0.0, 0.0)
    with pytest.raises(ValueError, match="inconsistent summary"):
        mean_from_summary(2, 10.0, 20.0)  # values summing to 10 have Σx² >= 50
    with pytest.raises(ValueError, match="sums must be 0 when n is 0"):
        mean_from_summary(0, 3.0, 9.0)
    with pytest.raises(ValueError, match="sums must be finite"):
        mean_from_summary(2, math.inf, 1.0)
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        mean_score([1, 2], confidence=0)


# --- comparing periods -----------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "current_moe", "previous", "previous_moe", "expected"),
    [
        (None, 5.0, 10.0, 5.0, False),
        (10.0, None, 10.0, 5.0, False),
        (10.0, 5.0, None, 5.0, False),
        (10.0, 5.0, 10.0, None, False),
        (None, None, None, None, False),
        # Combined margin sqrt(3² + 4²) = 5: equal to it is not a clear change.
        (15.0, 3.0, 10.0, 4.0, False),
        (15.001, 3.0, 10.0, 4.0, True),
        (5.0, 3.0, 10.001, 4.0, True),  # a drop counts as well as a rise
        (14.0, 3.0, 10.0, 4.0, False),  # beyond each margin alone, not the combined one
        (10.0, 0.0, 10.0, 0.0, False),
        (10.5, 0.0, 10.0, 0.0, True),
        (-20.0, 10.0, 30.0, 10.0, True),
    ],
)
def test_is_clear_change(
    current: float | None,
    current_moe: float | None,
    previous: float | None,
    previous_moe: float | None,
    expected: bool,
) -> None:
    assert is_clear_change(current, current_moe, previous, previous_moe) is expected


def test_is_clear_change_with_scores() -> None:
    before = nps_score(20, 30, 50)
    after = nps_score(50, 30, 20)
    assert is_clear_change(after.nps, after.margin_of_error, before.nps, before.margin_of_error)
    slightly = nps_score(22, 30, 48)
    assert not is_clear_change(
        slightly.nps, slightly.margin_of_error, before.nps, before.margin_of_error
    )
    empty = nps_score(0, 0, 0)
    assert not is_clear_change(empty.nps, empty.margin_of_error, before.nps, before.margin_of_error)


# --- two-sample comparisons --------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17: 873–890, table II, method 11.
        ((56, 70), (48, 80), 4.28, 34.22),
        ((9, 10), (3, 10), 10.13, 83.87),
    ],
)
def test_proportion_difference_matches_newcombes_published_intervals(
    current: tuple[int, int], previous: tuple[int, int], low: float, high: float
) -> None:
    from conversations.scoring import proportion_difference

    difference = proportion_difference(csat_score(*current), csat_score(*previous))
    assert difference is not None
    assert difference.interval.low == pytest.approx(low, abs=0.005)
    assert difference.interval.high == pytest.approx(high, abs=0.005)
    assert difference.clear


def test_mean_difference_is_welchs_interval_widened_by_half_a_step() -> None:
    from conversations.scoring import mean_difference

    before, after = [3, 4, 5, 4, 3, 4, 5, 4, 4, 3], [5, 6, 5, 7, 6, 5, 6, 6, 7, 5]
    difference = mean_difference(mean_score(after), mean_score(before))
    assert difference is not None
    # Welch by hand: means 5.8 and 3.9, variances 0.6222 and 0.5444, n = 10 each.
    spread = 0.62222222 / 10 + 0.54444444 / 10
    df = spread**2 / ((0.62222222 / 10) ** 2 / 9 + (0.54444444 / 10) ** 2 / 9)
    half = t_quantile(0.975, df) * math.sqrt(spread) + 0.5 * (1 / 10 + 1 / 10)
    assert difference.change == pytest.approx(1.9)
    assert difference.interval.low == pytest.approx(1.9 - half, abs=1e-6)
    assert difference.interval.high == pytest.approx(1.9 + half, abs=1e-6)


def test_nps_difference_is_antisymmetric_and_needs_two_answers_each() -> None:
    from conversations.scoring import nps_difference

    a, b = nps_score(12, 5, 3), nps_score(4, 6, 10)
    forward, backward = nps_difference(a, b), nps_difference(b, a)
    assert forward is not None and backward is not None
    assert forward.change == pytest.approx(-backward.change)
    assert forward.interval.low == pytest.approx(-backward.interval.high)
    assert nps_difference(nps_score(1, 0, 0), b) is None
    assert nps_difference(nps_score(0, 0, 0), b) is None
    # Every answer a promoter against every answer a detractor: a change beyond doubt.
    extreme = nps_difference(nps_score(10, 0, 0), nps_score(0, 0, 10))
    assert extreme is not None and extreme.clear and extreme.interval.low > 90
