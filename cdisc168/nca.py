"""Non-compartmental analysis (NCA) of concentration-time profiles after a single dose, vectorised.

Stage-neutral: SDTM PP (:mod:`cdisc168.sdtm.pp`) and ADaM ADPP both call :func:`compute_nca` on a long
frame of samples (one row per sample: profile keys, time since the start of dosing, concentration, a
below-LLOQ flag, optionally a record id). Every profile is computed at once with numpy: there is no
Python loop over profiles (30,000 profiles of 15 samples take well under a second).

Rules (STUDY.md §3.4 "ADPC and ADPP": linear-trapezoidal NCA, no lambda-z extrapolation):

* Times are in the caller's unit (days for cellular kinetics), measured from the start of dosing.
  Samples at or before the start (time <= 0) are pre-dose: they enter no parameter. C = 0 at t = 0 is
  assumed (the infusion start), which is what setting pre-dose BLQ to 0 amounts to.
* A sample is *quantifiable* when it has a concentration; a BLQ sample (``blq`` true) has a result
  below the lower limit of quantification; a sample with neither (not done, above the ULOQ, unusable)
  is ignored.
* Cmax = the highest quantifiable concentration after the dose; Tmax = the time of its **first**
  occurrence. Tlast = the time of the last quantifiable sample; Clast its concentration. Tlast is
  *censored* when the profile's last sample is itself quantifiable (persistence lasts at least until
  Tlast).
* BLQ samples for the AUC, by position in the profile:

  ==========================================  ====================  ============================
  BLQ sample                                  ``blq_between="zero"``  ``blq_between="missing"``
  ==========================================  ====================  ============================
  before the first quantifiable sample        0                     0
  between two quantifiable samples            0 (conservative)      excluded (sensitivity)
  after Tlast (trailing)                      excluded              excluded
  ==========================================  ====================  ============================

* AUC by the linear trapezoidal rule from (t = 0, C = 0): Σ (t(i+1) − t(i)) × (C(i) + C(i+1)) / 2.
  AUClast = AUC from 0 to Tlast.
* AUC over an interval [0, T] (:class:`AucInterval`): the trapezoids of the samples with t <= T; when
  the profile continues after T, C(T) is interpolated linearly between the samples either side of T,
  so the AUC ends exactly at T. When the profile ends before T (its last sample used, i.e. Tlast, is
  before T) but within the visit window of T (``window_time`` >= ``min_end``), the AUC runs to that
  last sample and is flagged *partial*; otherwise it is not evaluable (missing, reason
  :data:`REASON_INTERVAL`).
* A profile with no quantifiable sample after the dose gets every parameter missing with reason
  :data:`REASON_NO_QUANTIFIABLE`.

The result is long (one row per profile × parameter), ready for SDTM PP records or ADaM BDS rows; the
samples each parameter used are listed in :attr:`NcaResult.used` (for RELREC or ADPC flags).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

CMAX = "CMAX"
TMAX = "TMAX"
TLAST = "TLAST"
CLAST = "CLAST"
AUCLAST = "AUCLAST"
AUCINT = "AUCINT"

REASON_NO_QUANTIFIABLE = "NO_QUANTIFIABLE"  # no quantifiable concentration after the dose
REASON_INTERVAL = "INTERVAL_NOT_COVERED"  # the profile ends before the interval's window

BlqBetween = Literal["zero", "missing"]


@dataclass(frozen=True)
class AucInterval:
    """AUC from 0 to ``end`` (time units since the dose). ``min_end`` is the earliest ``window_time``
    at which a profile ending before ``end`` still yields a partial AUC (the lower bound of the visit
    window of ``end``); None allows no partial AUC."""

    end: float
    min_end: float | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.end) or self.end <= 0:
            raise ValueError(f"AucInterval.end must be a positive number, got {self.end!r}")
        if self.min_end is not None and not self.min_end <= self.end:
            raise ValueError(f"AucInterval.min_end ({self.min_end}) must not exceed end ({self.end})")


@dataclass(frozen=True)
class NcaResult:
    """NCA parameters and the samples they used.

    ``parameters``: one row per profile and parameter, in profile order then :data:`CMAX`, :data:`TMAX`,
    :data:`TLAST`, :data:`CLAST`, :data:`AUCLAST`, then one :data:`AUCINT` per interval. Columns: the
    ``by`` keys, ``param``, ``end`` (AUCINT only), ``value`` (NaN when not computed), ``partial``
    (AUCINT ended before ``end``), ``censored`` (TLAST with the last sample quantifiable), ``reason``
    (a REASON_* code when ``value`` is missing, else None) and ``row`` (0..n-1).

    ``used``: one row per parameter row and sample it used (``row``, ``record``), in time order;
    empty when no ``record`` column was given. Cmax, Tmax, Tlast and Clast use every post-dose sample
    with a result (all are compared); an AUC uses the samples inside its trapezoids, plus the sample
    after ``end`` when C(end) is interpolated. A missing parameter uses no sample.
    """

    parameters: pd.DataFrame
    used: pd.DataFrame


def _validate(
    frame: pd.DataFrame, by: Sequence[str], columns: dict[str, str | None], blq_between: str
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(by, str) or not by:
        raise ValueError("by must be a non-empty list of column names")
    for argument, column in [*((f"by[{i}]", c) for i, c in enumerate(by)), *columns.items()]:
        if column is not None and column not in frame.columns:
            raise ValueError(f"{argument}: column {column!r} is not in frame")
    for argument in ("time", "conc", "window_time"):
        column = columns.get(argument)
        if column is not None and not pd.api.types.is_numeric_dtype(frame[column]):
            raise ValueError(f"{argument}: column {column!r} must be numeric")
    if blq_between not in ("zero", "missing"):
        raise ValueError(f"blq_between must be 'zero' or 'missing', got {blq_between!r}")


_BIG = np.iinfo(np.int64).max


def _take(values: np.ndarray, index: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``values[index]`` where ``ok``, else NaN (``index`` is meaningless where not ``ok``)."""
    if not values.size:
        return np.full(len(index), np.nan)
    return np.where(ok, values[np.where(ok, index, 0)], np.nan)


def _group_reduce(
    ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, fill: float
) -> np.ndarray:
    """``ufunc.reduceat`` over contiguous groups; ``fill`` for empty groups."""
    out = np.full(len(starts), fill, dtype=values.dtype)
    has = sizes > 0
    if values.size:
        out[has] = ufunc.reduceat(values, starts[has])
    return out


def compute_nca(
    frame: pd.DataFrame,
    by: Sequence[str],
    *,
    time: str = "TIME",
    conc: str = "CONC",
    blq: str = "BLQ",
    record: str | None = None,
    window_time: str | None = None,
    intervals: Sequence[AucInterval] = (),
    blq_between: BlqBetween = "zero",
) -> NcaResult:
    """NCA parameters of every profile (``by`` keys) of ``frame``; the rules are in the module docstring.

    ``time``: time since the start of dosing (NaN: the sample is ignored); ``conc``: concentration,
    NaN unless quantifiable; ``blq``: true for a result below the LLOQ; ``record``: an id per sample
    reported in :attr:`NcaResult.used`; ``window_time``: the time scale of the intervals' ``min_end``
    (e.g. whole protocol days while ``time`` is exact), ``time`` by default; ``intervals``: the
    AUC(0-T) to compute; ``blq_between``: BLQ samples between quantifiable ones count as 0 ("zero",
    conservative) or are left out ("missing", sensitivity).

    Every profile present in ``frame`` gets every parameter, even with no usable sample.
    """
    by = list(by)
    _validate(
        frame,
        by,
        {"time": time, "conc": conc, "blq": blq, "record": record, "window_time": window_time},
        blq_between,
    )
    groups = frame.groupby(by, sort=True, dropna=False)
    gid_all = groups.ngroup().to_numpy()
    keys = groups.size().reset_index()[by]
    n_groups = len(keys)

    t_all = frame[time].to_numpy(dtype="float64")
    c_all = frame[conc].to_numpy(dtype="float64")
    blq_all = frame[blq].astype("boolean").fillna(False).to_numpy(dtype=bool)
    quant_all = np.isfinite(c_all)
    # post-dose samples with a result, by profile, time, then input order (Tmax: the first occurrence)
    rows = np.flatnonzero(np.isfinite(t_all) & (t_all > 0) & (quant_all | blq_all))
    rows = rows[np.lexsort((rows, t_all[rows], gid_all[rows]))]
    gid, t, c, q = gid_all[rows], t_all[rows], c_all[rows], quant_all[rows]
    wt = frame[window_time].to_numpy(dtype="float64")[rows] if window_time else t
    pos = np.arange(len(rows))
    sizes = np.bincount(gid, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)

    # Cmax, Tmax (first occurrence), Tlast, Clast
    cmax = _group_reduce(np.fmax, np.where(q, c, np.nan), starts, sizes, np.nan)
    first_max = _group_reduce(np.minimum, np.where(q & (c == cmax[gid]), pos, _BIG), starts, sizes, _BIG)
    first_q = _group_reduce(np.minimum, np.where(q, pos, _BIG), starts, sizes, _BIG)
    last_q = _group_reduce(np.maximum, np.where(q, pos, -1), starts, sizes, -1)
    quantified = last_q >= 0
    tmax = _take(t, first_max, quantified)
    tlast = _take(t, last_q, quantified)
    clast = _take(c, last_q, quantified)
    last_window = _take(wt, last_q, quantified)
    censored = quantified & (last_q == starts + sizes - 1)

    # the AUC profile: BLQ before the first quantifiable → 0, between → 0 or left out, after Tlast → out
    between = (pos > first_q[gid]) & (pos < last_q[gid])
    blq_used = ~q & ((pos < first_q[gid]) | (between & (blq_between == "zero")))
    auc_in = quantified[gid] & ((q & (pos <= last_q[gid])) | blq_used)
    a_rows = np.flatnonzero(auc_in)
    a_gid, a_t = gid[a_rows], t[a_rows]
    a_c = np.where(q[a_rows], c[a_rows], 0.0)
    first_in_group = np.ones(len(a_rows), dtype=bool)
    first_in_group[1:] = a_gid[1:] != a_gid[:-1]
    prev_t = np.where(first_in_group, 0.0, np.roll(a_t, 1))  # (0, 0) precedes each profile's first sample
    prev_c = np.where(first_in_group, 0.0, np.roll(a_c, 1))
    area = (a_t - prev_t) * (a_c + prev_c) / 2.0
    auclast = np.where(quantified, np.bincount(a_gid, weights=area, minlength=n_groups), np.nan)

    no_flag = np.zeros(n_groups, dtype=bool)
    no_reason = np.where(quantified, None, REASON_NO_QUANTIFIABLE)
    all_samples = quantified[gid]  # Cmax..Clast compare every post-dose sample of the profile
    columns: list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = [
        (CMAX, np.nan, cmax, no_flag, no_flag, no_reason, all_samples),
        (TMAX, np.nan, tmax, no_flag, no_flag, no_reason, all_samples),
        (TLAST, np.nan, tlast, no_flag, censored, no_reason, all_samples),
        (CLAST, np.nan, clast, no_flag, no_flag, no_reason, all_samples),
        (AUCLAST, np.nan, auclast, no_flag, no_flag, no_reason, auc_in),
    ]
    for interval in intervals:
        end = float(interval.end)
        inside = a_t <= end
        crossing = (prev_t < end) & (a_t > end)
        c_end = prev_c + (a_c - prev_c) * (end - prev_t) / np.where(crossing, a_t - prev_t, 1.0)
        piece = np.where(inside, area, np.where(crossing, (end - prev_t) * (prev_c + c_end) / 2.0, 0.0))
        total = np.bincount(a_gid, weights=piece, minlength=n_groups)
        complete = quantified & (tlast >= end)
        partial = (
            quantified & ~complete & (last_window >= interval.min_end)
            if interval.min_end is not None
            else no_flag
        )
        evaluable = complete | partial
        reason = np.where(evaluable, None, np.where(quantified, REASON_INTERVAL, REASON_NO_QUANTIFIABLE))
        in_interval = np.zeros(len(rows), dtype=bool)
        in_interval[a_rows] = inside | crossing
        columns.append(
            (
                AUCINT,
                end,
                np.where(evaluable, total, np.nan),
                partial,
                no_flag,
                reason,
                in_interval & evaluable[gid],
            )
        )

    n_params = len(columns)
    parameters = keys.loc[np.repeat(np.arange(n_groups), n_params)].reset_index(drop=True)
    parameters["param"] = np.tile(np.array([p[0] for p in columns], dtype=object), n_groups)
    parameters["end"] = np.tile(np.array([p[1] for p in columns], dtype="float64"), n_groups)
    for i, name in enumerate(("value", "partial", "censored", "reason"), start=2):
        stacked = np.column_stack([p[i] for p in columns]).ravel() if n_groups else []
        parameters[name] = pd.Series(stacked, dtype="object" if name == "reason" else None)
    parameters["row"] = np.arange(len(parameters))

    if record is None:
        used = pd.DataFrame({"row": pd.Series(dtype="int64"), "record": pd.Series(dtype="object")})
    else:
        hits = [np.flatnonzero(p[6]) for p in columns]
        used_row = np.concatenate([gid[h] * n_params + i for i, h in enumerate(hits)])
        used_pos = np.concatenate(hits)
        order = np.lexsort((used_pos, used_row))
        used = pd.DataFrame(
            {"row": used_row[order], "record": frame[record].to_numpy()[rows][used_pos[order]]}
        )
    return NcaResult(parameters=parameters, used=used)
