"""Specimen collection and result recording shared by the laboratory-type synthetic forms (lab, cartpk,
flow, autoab).

- When a sample is drawn (:func:`sample_minutes`): one collection time per attended visit, shared by
  every form drawn at that visit, so a clinical lab, a kinetics sample and a research tube taken at
  one visit agree. On D0 the sample is drawn 30-120 min before the infusion start (STUDY.md
  "Decisions": D0 samples must be orderable against the infusion); on D1 about 24 h after it; on LD
  days before the chemotherapy; otherwise in the morning.
- How a result is written: fixed decimals per unit (:func:`format_codes`), below-LLOQ results as the
  collected text "<LLOQ" (STUDY.md §4.6), ISO dates and HH:MM times. Formatting works on unique values
  and lookup tables, so a form of millions of rows is written in well under a second.
- Latent time courses are piecewise log-linear between knots (:func:`loglinear`): the shapes STUDY.md
  §4.3-4.5 describe (nadir, peak, half-life, recovery) are knots, and values in between decline or
  recover exponentially.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.synth.context import SynthContext

SAMPLE_TIME_STREAM = "sample-times"
MINUTE_STEP = 5
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype
_HHMM = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)], dtype=object)


@functools.cache
def raw_forms() -> FormCatalogue:
    """The raw form catalogue, loaded once."""
    return load_forms()


def subject_index(subjects: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Position of each ``frame`` row's subject in the subject backbone (by SITEID, SUBJID)."""
    keys = pd.MultiIndex.from_frame(subjects[["SITEID", "SUBJID"]])
    idx = keys.get_indexer(pd.MultiIndex.from_frame(frame[["SITEID", "SUBJID"]]))
    if (idx < 0).any():
        raise ValueError("rows for subjects that are not in the subject backbone")
    return idx


def sampled_visits(ctx: SynthContext) -> np.ndarray:
    """Rows of ``ctx.visits`` at which samples are drawn: every attended visit except an early
    termination falling on the date of another visit (that visit's samples serve both)."""
    visits = ctx.visits
    same_day = visits.duplicated(["SITEID", "SUBJID", "VISDT"], keep=False).to_numpy()
    return ~(same_day & (visits["VISIT"] == ctx.study.early_termination_visit.visit).to_numpy())


def sample_minutes(ctx: SynthContext) -> np.ndarray:
    """Collection time (minutes after midnight) for every row of ``ctx.visits``.

    D0: 30-120 min before the infusion start (pre-infusion sample). D1: the infusion clock time
    +/- 1 h (the 24-hour sample). LD days: 07:00-08:25, before the chemotherapy. Otherwise
    06:30-10:25. All on a 5-minute grid.
    """
    rng = ctx.rng(SAMPLE_TIME_STREAM)
    visits = ctx.visits
    n = len(visits)
    infdtm = ctx.subjects["INFDTM"].to_numpy()[subject_index(ctx.subjects, visits)]
    inf = pd.DatetimeIndex(infdtm)
    inf_min = np.asarray(inf.hour * 60 + inf.minute, dtype=float)
    morning = MINUTE_STEP * rng.integers(78, 126, n)
    before_ld = MINUTE_STEP * rng.integers(84, 102, n)
    before_infusion = MINUTE_STEP * rng.integers(6, 25, n)
    day_after = MINUTE_STEP * rng.integers(-12, 13, n)
    name = visits["VISIT"].to_numpy()
    infused = ~np.isnan(inf_min)
    minutes = np.select(
        [
            (name == "DAY 0 INFUSION") & infused,
            (name == "DAY 1") & infused,
            np.char.startswith(name.astype(str), "LD"),
        ],
        [inf_min - before_infusion, inf_min + day_after, before_ld],
        morning,
    )
    return minutes.astype(int)


def hhmm(minutes: np.ndarray) -> np.ndarray:
    """Minutes after midnight → 'HH:MM' text; negative minutes (no time recorded) → None."""
    minutes = np.asarray(minutes, dtype=int)
    out = _HHMM[np.clip(minutes, 0, len(_HHMM) - 1)]
    out[minutes < 0] = None
    return out


def iso_dates(values: pd.Series | np.ndarray) -> np.ndarray:
    """datetime64 values → 'YYYY-MM-DD' text (object array; missing → None)."""
    codes, uniques = pd.factorize(pd.DatetimeIndex(values))
    text = np.asarray(uniques.strftime("%Y-%m-%d"), dtype=object)
    out = np.empty(len(codes), dtype=object)
    out[codes >= 0] = text[codes[codes >= 0]]
    return out


class Coded(NamedTuple):
    """Text held as ``levels`` and one code per row (-1 = missing): how millions of results are
    written without formatting or converting each one."""

    levels: np.ndarray
    codes: np.ndarray

    def decode(self) -> np.ndarray:
        """The text as an object array (missing → None)."""
        out = np.full(len(self.codes), None, dtype=object)
        present = self.codes >= 0
        out[present] = np.asarray(self.levels, dtype=object)[self.codes[present]]
        return out

    def column(self, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """The text of ``rows`` as a pandas ``str`` column."""
        return text_take(self.levels, self.codes[rows])


def format_codes(values: np.ndarray, decimals: np.ndarray | int) -> Coded:
    """Numbers → text with a fixed number of decimals per value (NaN → missing).

    Formats each distinct rounded value once, so forms of millions of rows stay fast and no binary
    artefact such as 0.30000000000000004 can reach the collected text.
    """
    values = np.asarray(values, dtype=float)
    dec = np.broadcast_to(np.asarray(decimals, dtype=int), values.shape)
    codes = np.full(len(values), -1, dtype=np.int64)
    levels: list[np.ndarray] = []
    offset = 0
    present = ~np.isnan(values)
    for d in np.unique(dec[present]):
        rows = present & (dec == d)
        group_codes, uniques = pd.factorize(np.round(values[rows], d))
        codes[rows] = group_codes + offset
        levels.append(np.char.mod(f"%.{d}f", uniques).astype(object))
        offset += len(uniques)
    return Coded(np.concatenate([*levels, np.empty(0, dtype=object)]), codes)


def text_take(levels: np.ndarray, index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``levels[index]`` as a pandas ``str`` column, gathered in Arrow (index -1 → missing): the way to
    broadcast visit- or test-level text, or coded results, to millions of rows several times faster
    than pandas' own conversion of an object array."""
    index = np.asarray(index, dtype=np.int64)
    indices = pa.array(index, mask=index < 0)  # code -1 → missing
    return pd.array(pa.array(levels, type=pa.large_string(), from_pandas=True).take(indices), dtype=TEXT)


def decimals_by_magnitude(
    values: np.ndarray, steps: tuple[tuple[float, int], ...], default: int
) -> np.ndarray:
    """Decimals that keep about the same number of significant digits: ``steps`` are (upper bound,
    decimals) pairs in increasing order, e.g. ((1, 2), (100, 1)) → 0.53, 12.5, 145."""
    values = np.asarray(values, dtype=float)
    return np.select([values < bound for bound, _ in steps], [d for _, d in steps], default)


def result_codes(
    values: np.ndarray, decimals: np.ndarray | int, lloq: np.ndarray | float
) -> tuple[Coded, np.ndarray]:
    """Collected result text and the below-LLOQ flag: a value under the LLOQ is written "<LLOQ"
    ("<20", "<0.1"), everything else with its decimals. A NaN LLOQ means the assay has none."""
    values = np.asarray(values, dtype=float)
    lloq = np.broadcast_to(np.asarray(lloq, dtype=float), values.shape)
    blq = ~np.isnan(lloq) & (values < lloq)
    levels, codes = format_codes(np.where(blq, np.nan, values), decimals)
    blq_codes, blq_limits = pd.factorize(lloq[blq])
    codes[blq] = len(levels) + blq_codes
    blq_levels = np.char.add("<", format_general(blq_limits).astype(str)).astype(object)
    return Coded(np.concatenate([levels, blq_levels]), codes), blq


def format_general(values: np.ndarray) -> np.ndarray:
    """Short text of limits such as LLOQ and cut-offs: 20 → "20", 0.1 → "0.1" (object array)."""
    uniq, inverse = np.unique(np.asarray(values, dtype=float), return_inverse=True)
    return np.array([np.format_float_positional(u, trim="-") for u in uniq], dtype=object)[inverse]


def loglinear(day: np.ndarray, knots: list[tuple[float | np.ndarray, float | np.ndarray]]) -> np.ndarray:
    """Piecewise log-linear course through (day, value) knots, flat before the first and after the last.

    Knot days and values are scalars or arrays aligned with ``day`` (one knot per row); knot days are
    made non-decreasing, so a knot that would go back in time collapses onto its predecessor.
    """
    day = np.asarray(day, dtype=float)
    xs = [np.broadcast_to(np.asarray(d, dtype=float), day.shape) for d, _ in knots]
    ys = [np.log(np.maximum(np.broadcast_to(np.asarray(v, dtype=float), day.shape), 1e-9)) for _, v in knots]
    for j in range(1, len(xs)):
        xs[j] = np.maximum(xs[j], xs[j - 1])
    out = np.where(day <= xs[0], ys[0], ys[-1])
    for j in range(len(xs) - 1):
        width = xs[j + 1] - xs[j]
        fraction = np.divide(day - xs[j], width, out=np.zeros_like(day), where=width > 0)
        out = np.where((day > xs[j]) & (day <= xs[j + 1]), ys[j] + fraction * (ys[j + 1] - ys[j]), out)
    return np.exp(out)


def toward(value: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Move ``value`` toward ``target`` on the log scale by ``weight`` (0 = unchanged, 1 = target)."""
    return np.exp(np.log(value) + np.clip(weight, 0, 1) * (np.log(target) - np.log(value)))


def ramp(day: np.ndarray, start: np.ndarray, days: float) -> np.ndarray:
    """0 before ``start`` (NaN start = never), rising linearly to 1 over ``days``."""
    weight = (np.asarray(day, dtype=float) - start) / days
    return np.nan_to_num(np.clip(weight, 0, 1), nan=0.0)


class SubjectDraws:
    """Random per-subject parameters broadcast to sample rows.

    Every draw is made once per subject (size = number of subjects, so the stream does not depend on
    how many samples exist) and then taken for each row by its subject index. Bounds may be scalars
    or per-subject arrays (for example a range that depends on the indication).
    """

    def __init__(self, rng: np.random.Generator, n_subjects: int, sidx: np.ndarray) -> None:
        self.rng = rng
        self.n = n_subjects
        self.sidx = sidx

    def take(self, per_subject: np.ndarray) -> np.ndarray:
        return np.asarray(per_subject)[self.sidx]

    def uniform(self, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
        return self.take(self.rng.uniform(low, high, self.n))

    def loguniform(self, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
        return self.take(np.exp(self.rng.uniform(np.log(low), np.log(high), self.n)))

    def normal(self, mean: float | np.ndarray, sd: float) -> np.ndarray:
        return self.take(self.rng.normal(mean, sd, self.n))

    def lognormal(self, median: float | np.ndarray, sigma: float) -> np.ndarray:
        return self.take(np.asarray(median) * np.exp(self.rng.normal(0.0, sigma, self.n)))

    def chance(self, p: float | np.ndarray) -> np.ndarray:
        return self.take(self.rng.uniform(size=self.n) < p)

    def integers(self, low: int, high: int) -> np.ndarray:
        return self.take(self.rng.integers(low, high + 1, self.n))
