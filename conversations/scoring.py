"""Survey scores (NPS, CSAT, CES and rating means) with confidence intervals.

Pure functions over counts or values: no I/O, standard library only. Every score
carries a confidence interval so reports can tell a real change from noise.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Difference",
    "Interval",
    "MeanScore",
    "NpsScore",
    "ProportionScore",
    "Score",
    "csat_from_values",
    "csat_score",
    "difference",
    "is_clear_change",
    "mean_difference",
    "mean_from_summary",
    "mean_score",
    "nps_difference",
    "nps_from_values",
    "nps_score",
    "proportion_difference",
    "t_quantile",
    "z_quantile",
]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def margin_of_error(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class NpsScore:
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    interval: Interval | None
    margin_of_error: float | None


@dataclass(frozen=True)
class ProportionScore:
    n: int
    successes: int
    percent: float | None
    interval: Interval | None
    margin_of_error: float | None


@dataclass(frozen=True)
class MeanScore:
    n: int
    mean: float | None
    stdev: float | None
    interval: Interval | None
    margin_of_error: float | None


# --- quantiles -------------------------------------------------------------------


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def z_quantile(confidence: float = 0.95) -> float:
    """Two-sided standard normal critical value, e.g. 1.959963985 for 0.95."""
    _check_confidence(confidence)
    return statistics.NormalDist().inv_cdf((1 + confidence) / 2)


_BETACF_MAX_ITERATIONS = 100_000
_BETACF_EPSILON = 1e-16
_TINY = 1e-300


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz method).

    Numerical Recipes' ``betacf``; converges quickly for x < (a + 1) / (a + b + 2).
    """
    qab = a + b
    qap = a + 1
    qam = a - 1
    c = 1.0
    d = 1 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1 / d
    h = d
    for m in range(1, _BETACF_MAX_ITERATIONS + 1):
        m2 = 2 * m
        # Even step of the recurrence.
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1 / d
        h *= d * c
        # Odd step.
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _BETACF_EPSILON:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b})")


def _regularized_incomplete_beta(a: float, b: float, x: float, one_minus_x: float) -> float:
    """I_x(a, b), taking 1 - x separately so callers can pass it without cancellation."""
    if x <= 0:
        return 0.0
    if one_minus_x <= 0:
        return 1.0
    log_front = (
        math.lgamma(a + b)
        - math.lgamma(a)
        - math.lgamma(b)
        + a * math.log(x)
        + b * math.log(one_minus_x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1 - front * _beta_continued_fraction(b, a, one_minus_x) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0 and a Student t with ``df`` degrees of freedom."""
    t_squared = t * t
    denominator = df + t_squared
    return 0.5 * _regularized_incomplete_beta(
        df / 2, 0.5, df / denominator, t_squared / denominator
    )


# Above this many degrees of freedom lgamma(a + b) - lgamma(a) starts to cancel (t off
# by ~2e-10 at df = 1e6, ~3e-7 at 1e9) while the series' truncation error is negligible.
_CORNISH_FISHER_MIN_DF = 10_000


def _t_quantile_cornish_fisher(p: float, df: float) -> float:
    """Large-df expansion of the t quantile around z (Abramowitz & Stegun 26.7.5)."""
    z = statistics.NormalDist().inv_cdf(p)
    if math.isinf(df):
        return z
    z2 = z * z
    g1 = z * (z2 + 1) / 4
    g2 = z * ((5 * z2 + 16) * z2 + 3) / 96
    g3 = z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / 384
    g4 = z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) / 92160
    return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df


def t_quantile(p: float, df: float) -> float:
    """Inverse CDF of Student's t distribution: the t with P(T <= t) = p.

    The stdlib has no t distribution, so this solves the exact CDF (written with the
    regularized incomplete beta function) to full double precision: Newton steps from the
    asymptotic series around the normal quantile, kept inside a bracket and bisecting when
    a step would leave it, so it cannot diverge. A report chart asks for hundreds of these
    (a margin of error per day and survey); plain bisection took 9 ms each, this about 0.5.
    Past 10,000 degrees of freedom the series alone is both faster and more accurate.
    """
    if not 0 < p < 1:
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")
    if not df > 0:  # also catches NaN
        raise ValueError(f"degrees of freedom must be positive, got {df!r}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if df > _CORNISH_FISHER_MIN_DF:
        return _t_quantile_cornish_fisher(p, df)
    # Work with the upper tail so that p close to 1 keeps its precision.
    tail = 1 - p
    low, high = 0.0, 1.0
    while _t_upper_tail(high, df) > tail:
        low, high = high, high * 2
    log_density_scale = (
        math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    )
    t = min(max(_t_quantile_cornish_fisher(p, df), low), high)
    for _ in range(200):
        excess = _t_upper_tail(t, df) - tail
        if excess > 0:
            low = t
        else:
            high = t
        density = math.exp(log_density_scale - (df + 1) / 2 * math.log1p(t * t / df))
        step = excess / density if density > 0 else math.inf
        following = t + step
        if not low < following < high:
            following = (low + high) / 2
            if following in (low, high):
                return following
        if abs(following - t) <= 4 * sys.float_info.epsilon * following:
            return following
        t = following
    return t


# --- NPS -------------------------------------------------------------------------


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer count, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def nps_score(promoters: int, passives: int, detractors: int, confidence: float = 0.95) -> NpsScore:
    """Net Promoter Score with an adjusted-Wald interval.

    The interval follows Rocks (2016), "Interval Estimation for the Net Promoter
    Score", The American Statistician 70(4): add 3/4 of a response to promoters and
    detractors (and 3/2 to passives, so n grows by 3) before taking the Wald interval
    of p - d. Plain Wald collapses to zero width when every answer is a promoter; the
    adjustment keeps small samples honest.

    The point estimate is the plain (promoters - detractors) / n. The interval is
    centred on the adjusted estimate, pulled towards 0, so with a single answer the
    plain NPS lies outside it: one promoter gives NPS 100 with an interval of about
    -48.5 to 98.5. From two answers on the interval contains the plain NPS.

    Returns:
        Scores in NPS points (percent, -100..100); ``nps``, ``interval`` and
        ``margin_of_error`` are None when there are no responses. The margin is the
        half-width of the clipped interval.
    """
    _check_count("promoters", promoters)
    _check_count("passives", passives)
    _check_count("detractors", detractors)
    _check_confidence(confidence)
    n = promoters + passives + detractors
    if n == 0:
        return NpsScore(0, 0, 0, 0, None, None, None)

    nps = (promoters - detractors) / n * 100
    adjusted_n = n + 3
    p = (promoters + 0.75) / adjusted_n
    d = (detractors + 0.75) / adjusted_n
    centre = p - d
    variance = (p + d - centre * centre) / adjusted_n
    half_width = z_quantile(confidence) * math.sqrt(variance)
    interval = Interval(
        max(-1.0, centre - half_width) * 100,
        min(1.0, centre + half_width) * 100,
    )
    return NpsScore(n, promoters, passives, detractors, nps, interval, interval.margin_of_error)


def nps_from_histogram(histogram: Mapping[int, int]) -> NpsScore:
    """NPS from answer value → count, as reports aggregate them: 9-10 promoters, 7-8 passives,
    0-6 detractors."""
    promoters = passives = detractors = 0
    for value, count in histogram.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise ValueError(f"NPS answers must be integers 0..10, got {value!r}")
        _check_count("count", count)
        if value >= 9:
            promoters += count
        elif value >= 7:
            passives += count
        else:
            detractors += count
    return nps_score(promoters, passives, detractors)


def nps_from_values(values: Iterable[int]) -> NpsScore:
    """NPS from raw 0..10 answers (see `nps_from_histogram`)."""
    # Each value is checked as it comes: counted first, True and 9.0 would pass as 1 and 9.
    histogram: Counter[int] = Counter()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"NPS answers must be integers 0..10, got {value!r}")
        if not 0 <= value <= 10:
            raise ValueError(f"NPS answers must be between 0 and 10, got {value}")
        histogram[value] += 1
    return nps_from_histogram(histogram)


# --- CSAT ------------------------------------------------------------------------


def csat_score(satisfied: int, n: int, confidence: float = 0.95) -> ProportionScore:
    """Share of satisfied answers with a Wilson score interval, in percent.

    Wilson rather than Wald because CSAT often sits near 100% where the Wald interval
    has zero width and poor coverage.
    """
    _check_count("satisfied", satisfied)
    _check_count("n", n)
    if satisfied > n:
        raise ValueError(f"satisfied ({satisfied}) cannot exceed n ({n})")
    _check_confidence(confidence)
    if n == 0:
        return ProportionScore(0, 0, None, None, None)

    z = z_quantile(confidence)
    z_squared = z * z
    share = satisfied / n
    denominator = 1 + z_squared / n
    centre = (share + z_squared / (2 * n)) / denominator
    half_width = z * math.sqrt(share * (1 - share) / n + z_squared / (4 * n * n)) / denominator
    # At 0% and 100% the bounds are exactly 0 and 1; rounding must not move them.
    low = 0.0 if satisfied == 0 else max(0.0, centre - half_width)
    high = 1.0 if satisfied == n else min(1.0, centre + half_width)
    interval = Interval(low * 100, high * 100)
    return ProportionScore(n, satisfied, share * 100, interval, interval.margin_of_error)


def _wilson_continuity_corrected(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson's score interval with continuity correction (Newcombe 1998, method 4), as shares."""
    share = successes / n
    z_squared = z * z
    denominator = 2 * (n + z_squared)
    low = 0.0
    if successes > 0:
        root = math.sqrt(z_squared - 2 - 1 / n + 4 * share * (n * (1 - share) + 1))
        low = max(0.0, (2 * n * share + z_squared - 1 - z * root) / denominator)
    high = 1.0
    if successes < n:
        root = math.sqrt(z_squared + 2 - 1 / n + 4 * share * (n * (1 - share) - 1))
        high = min(1.0, (2 * n * share + z_squared + 1 + z * root) / denominator)
    return low, high


def csat_from_values(values: Iterable[int]) -> ProportionScore:
    """CSAT from raw 1..5 answers, counting 4 and 5 as satisfied."""
    satisfied = n = 0
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"CSAT answers must be integers 1..5, got {value!r}")
        if not 1 <= value <= 5:
            raise ValueError(f"CSAT answers must be between 1 and 5, got {value}")
        n += 1
        if value >= 4:
            satisfied += 1
    return csat_score(satisfied, n)


# --- means (CES, ratings) --------------------------------------------------------


def _mean_result(n: int, mean: float, variance: float | None, confidence: float) -> MeanScore:
    if variance is None:
        return MeanScore(n, mean, None, None, None)
    stdev = math.sqrt(variance)
    half_width = t_quantile((1 + confidence) / 2, n - 1) * stdev / math.sqrt(n)
    interval = Interval(mean - half_width, mean + half_width)
    return MeanScore(n, mean, stdev, interval, interval.margin_of_error)


def mean_score(values: Iterable[float], confidence: float = 0.95) -> MeanScore:
    """Mean with a Student t interval; a single answer has no spread, so no interval."""
    _check_confidence(confidence)
    data = list(values)
    for value in data:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"values must be numbers, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"values must be finite, got {value!r}")
    n = len(data)
    if n == 0:
        return MeanScore(0, None, None, None, None)
    mean = statistics.fmean(data)
    variance = statistics.variance(data) if n > 1 else None
    return _mean_result(n, mean, variance, confidence)


def mean_from_summary(
    n: int, total: float, total_of_squares: float, confidence: float = 0.95
) -> MeanScore:
    """The same as ``mean_score`` from SQL aggregates: COUNT, SUM(x) and SUM(x * x).

    Reports use this so they need not load every row. For integer answers (CES,
    ratings) the sums are exact and the result matches ``mean_score``; for arbitrary
    floats the sum-of-squares formula loses precision when the spread is tiny next
    to the mean.

    Raises:
        ValueError: if n is negative, the sums are not finite, or the sum of squares
            is too small for the total (no real data has a negative variance).
    """
    _check_count("n", n)
    _check_confidence(confidence)
    if not (math.isfinite(total) and math.isfinite(total_of_squares)):
        raise ValueError(f"sums must be finite, got {total!r} and {total_of_squares!r}")
    if n == 0:
        if total != 0 or total_of_squares != 0:
            raise ValueError("sums must be 0 when n is 0")
        return MeanScore(0, None, None, None, None)
    mean = total / n
    if n == 1:
        return _mean_result(1, mean, None, confidence)
    # n * Σx² - (Σx)² is exact for integer-valued sums below 2**53.
    spread = n * total_of_squares - total * total
    if spread < 0:
        if spread < -1e-9 * n * abs(total_of_squares):
            raise ValueError(
                f"inconsistent summary: sum of squares {total_of_squares!r} is smaller "
                f"than total**2 / n for total {total!r} and n {n}"
            )
        spread = 0.0
    return _mean_result(n, mean, spread / (n * (n - 1)), confidence)


# --- comparing periods -----------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A score now minus the score before, with the confidence interval of that difference."""

    change: float
    """The plain difference of the two scores, in their units (NPS points, percentage points…)."""
    interval: Interval

    @property
    def clear(self) -> bool:
        """Whether the interval leaves out 0: at 95 %, a change this large comes from noise
        (two periods of the same customers' mood) at most about 5 times in 100."""
        return self.interval.low > 0 or self.interval.high < 0


def _continuity(n1: int, n2: int) -> float:
    # Answers are whole numbers, so every score moves in steps of 1/n: half a step of each
    # sample keeps a test on that lattice at or below its level (Yates), at n = 10 and at 1000.
    return 0.5 * (1 / n1 + 1 / n2)


def _welch(
    spread1: float, n1: int, spread2: float, n2: int, confidence: float
) -> tuple[float, float]:
    """(critical t value, standard error) of a difference of two means, from each mean's
    squared standard error and sample size (Welch–Satterthwaite degrees of freedom)."""
    standard_error = math.sqrt(spread1 + spread2)
    if standard_error == 0:
        return 0.0, 0.0
    df = (spread1 + spread2) ** 2 / (spread1**2 / (n1 - 1) + spread2**2 / (n2 - 1))
    return t_quantile((1 + confidence) / 2, df), standard_error


def nps_difference(
    current: NpsScore, previous: NpsScore, confidence: float = 0.95
) -> Difference | None:
    """The change of NPS between two independent samples, with a two-sample adjusted-Wald interval.

    Each sample gets Rocks's adjustment (3/4 of a response added to promoters and to
    detractors, 3/2 to passives); the adjusted variances are combined as in Welch's test, with
    Satterthwaite's degrees of freedom, and widened by a continuity correction. Comparing the
    plain difference with the one-sample margins (centred on the adjusted estimates) called
    noise a change 11 % of the time at n = 10; this keeps it under 5 % from n = 10 on (see
    docs/reporting.md for the measured rates).
    """
    _check_confidence(confidence)
    if current.nps is None or previous.nps is None or current.n < 2 or previous.n < 2:
        return None

    def adjusted(score: NpsScore) -> tuple[float, float]:
        adjusted_n = score.n + 3
        p = (score.promoters + 0.75) / adjusted_n
        d = (score.detractors + 0.75) / adjusted_n
        return p - d, (p + d - (p - d) ** 2) / adjusted_n

    centre1, spread1 = adjusted(current)
    centre2, spread2 = adjusted(previous)
    critical, standard_error = _welch(spread1, current.n, spread2, previous.n, confidence)
    half_width = critical * standard_error + _continuity(current.n, previous.n)
    centre = centre1 - centre2
    interval = Interval(max(-2.0, centre - half_width) * 100, min(2.0, centre + half_width) * 100)
    return Difference(current.nps - previous.nps, interval)


def proportion_difference(
    current: ProportionScore, previous: ProportionScore, confidence: float = 0.95
) -> Difference | None:
    """The change of a share (CSAT, yes/no) with Newcombe's hybrid score interval (1998, method
    11: from the continuity-corrected Wilson interval of each sample), in percentage points."""
    _check_confidence(confidence)
    if current.percent is None or previous.percent is None:
        return None
    z = z_quantile(confidence)
    share1, share2 = current.successes / current.n, previous.successes / previous.n
    low1, high1 = _wilson_continuity_corrected(current.successes, current.n, z)
    low2, high2 = _wilson_continuity_corrected(previous.successes, previous.n, z)
    change = share1 - share2
    interval = Interval(
        (change - math.hypot(share1 - low1, high2 - share2)) * 100,
        (change + math.hypot(high1 - share1, share2 - low2)) * 100,
    )
    return Difference(current.percent - previous.percent, interval)


def mean_difference(
    current: MeanScore, previous: MeanScore, confidence: float = 0.95
) -> Difference | None:
    """The change of a mean (CES, ratings) with Welch's t interval, widened by a continuity
    correction because the answers are whole numbers."""
    _check_confidence(confidence)
    if current.mean is None or previous.mean is None:
        return None
    if current.stdev is None or previous.stdev is None:
        return None
    critical, standard_error = _welch(
        current.stdev**2 / current.n,
        current.n,
        previous.stdev**2 / previous.n,
        previous.n,
        confidence,
    )
    change = current.mean - previous.mean
    half_width = critical * standard_error + _continuity(current.n, previous.n)
    return Difference(change, Interval(change - half_width, change + half_width))


Score = NpsScore | ProportionScore | MeanScore


def difference(current: Score, previous: Score, confidence: float = 0.95) -> Difference | None:
    """The two-sample comparison that fits the kind of score; None when either has too little."""
    if isinstance(current, NpsScore) and isinstance(previous, NpsScore):
        return nps_difference(current, previous, confidence)
    if isinstance(current, ProportionScore) and isinstance(previous, ProportionScore):
        return proportion_difference(current, previous, confidence)
    if isinstance(current, MeanScore) and isinstance(previous, MeanScore):
        return mean_difference(current, previous, confidence)
    raise TypeError(f"cannot compare {type(current).__name__} with {type(previous).__name__}")


def is_clear_change(
    current: float | None,
    current_moe: float | None,
    previous: float | None,
    previous_moe: float | None,
) -> bool:
    """Whether two scores differ by more than the margin of error of their difference.

    Treats the two margins as independent, so the difference's margin is
    sqrt(moe1² + moe2²). Any missing value means there is nothing to compare.
    """
    if current is None or current_moe is None or previous is None or previous_moe is None:
        return False
    return abs(current - previous) > math.hypot(current_moe, previous_moe)
