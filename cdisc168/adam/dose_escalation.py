"""The 3+3 dose-escalation report: DLT rate per dose level, the 3+3 decision, the MTD and the RP2D.

STUDY.md §3.2 and its Decisions ("the 3+3 decision and recommended dose are a report built from ADSL
and ADAE, not an ADaM dataset"). Per dose level (actual dose level ACTARMCD, in the order of
``study.yaml`` ``dose_levels``): subjects treated (ADSL SAFFL), DLT-evaluable (ADSL DLTEVLFL), and
DLT-evaluable subjects with at least one DLT (ADAE DLTFL, within the DLT window DLTWFL); the DLT rate
with its exact Clopper-Pearson 95% confidence interval; the 3+3 decision; then the rule-based MTD and
recommended phase 2 dose (RP2D). "Adjusted by the totality of the data" (STUDY.md §3.2) is the safety
review committee's decision; this report gives the rule-based answer it starts from.

:func:`create_dose_escalation` builds a :class:`DoseEscalation`; :func:`dose_escalation_csv`,
:func:`dose_escalation_markdown` and :func:`dose_escalation_html` write it as text (deterministic: no
clock time, values sorted by dose level).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cdisc168.adam.derive_support import require_columns, require_frame
from cdisc168.study import Study

#: 3+3 decisions (STUDY.md §3.2 table), plus the states before a decision can be made.
ESCALATE = "ESCALATE"
EXPAND = "EXPAND TO 6"
MTD_EXCEEDED = "MTD EXCEEDED"
INCOMPLETE = "COHORT INCOMPLETE"
NOT_ENROLLED = "NOT ENROLLED"

#: Columns of :attr:`DoseEscalation.table`, in order.
TABLE_COLUMNS = (
    "dose_level",
    "dose",
    "arm",
    "treated",
    "evaluable",
    "with_dlt",
    "dlt_rate",
    "ci_lower",
    "ci_upper",
    "decision",
    "investigator_dlt",
    "dlt_events",
)


@dataclass(frozen=True)
class ThreePlusThree:
    """The 3+3 design (STUDY.md §3.2): cohorts of ``cohort_size``, expanded to ``expanded_size``;
    a level is tolerated with at most ``max_dlt_expanded`` DLTs among ``expanded_size`` subjects."""

    cohort_size: int = 3
    expanded_size: int = 6
    max_dlt_expanded: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.cohort_size < self.expanded_size:
            raise ValueError(
                f"cohort_size, expanded_size: need 0 < cohort_size < expanded_size, "
                f"got {self.cohort_size}, {self.expanded_size}"
            )
        if not 0 <= self.max_dlt_expanded < self.expanded_size:
            raise ValueError(f"max_dlt_expanded: need 0 <= it < expanded_size, got {self.max_dlt_expanded}")


def compute_clopper_pearson(
    events: pd.Series | np.ndarray, trials: pd.Series | np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) confidence interval of a binomial proportion ``events / trials``.

    lower = Beta(α/2; x, n − x + 1) quantile (0 when x = 0), upper = Beta(1 − α/2; x + 1, n − x)
    quantile (1 when x = n), α = 1 − ``level`` (Clopper & Pearson, Biometrika 1934). NaN when n = 0.
    1 DLT among 6 subjects: (0.0042, 0.6412).

    >>> low, high = compute_clopper_pearson(np.array([1]), np.array([6]))
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.0042, 0.6412)
    """
    if not 0 < level < 1:
        raise ValueError(f"level: expected a confidence level between 0 and 1, got {level!r}")
    x = np.asarray(events, dtype=float)
    n = np.asarray(trials, dtype=float)
    if x.shape != n.shape:
        raise ValueError("trials: must have the shape of events")
    if np.any((x < 0) | (x > n)):
        raise ValueError("events: need 0 <= events <= trials")
    alpha = 1.0 - level
    valid = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, np.maximum(x, 1), n - x + 1), 0.0)
        upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1)), 1.0)
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def decide_3plus3(
    evaluable: pd.Series | np.ndarray,
    with_dlt: pd.Series | np.ndarray,
    design: ThreePlusThree = ThreePlusThree(),
) -> np.ndarray:
    """The 3+3 decision at one dose level from its DLT-evaluable subjects n and those with a DLT x.

    STUDY.md §3.2 table (c = cohort size 3, e = expanded size 6, m = 1 DLT tolerated among 6), the
    first row that applies:

    ==============================================  =================  ==============================
    counts                                          decision           STUDY.md row
    ==============================================  =================  ==============================
    n = 0                                           NOT ENROLLED
    x > m and (n ≤ e or x/n > m/e)                  MTD EXCEEDED       ≥2/3 or ≥2/6
    n < c                                           COHORT INCOMPLETE  (fewer than 3 evaluable)
    c ≤ n < e, x = 0                                ESCALATE           0/3
    c ≤ n < e, x ≤ m                                EXPAND TO 6        1/3
    n ≥ e, x/n ≤ m/e                                ESCALATE           ≤1/6
    ==============================================  =================  ==============================

    A level expanded beyond six subjects (e.g. the expansion cohort at the recommended dose) keeps the
    ≤1/6 rate: 2/12 is tolerated, 2/7 is not.
    """
    n = np.asarray(evaluable, dtype=int)
    x = np.asarray(with_dlt, dtype=int)
    if n.shape != x.shape or np.any((x < 0) | (x > n)):
        raise ValueError("with_dlt: need 0 <= with_dlt <= evaluable, element by element")
    c, e, m = design.cohort_size, design.expanded_size, design.max_dlt_expanded
    rate_ok = x * e <= m * n  # x/n <= m/e, in integers
    return np.select(
        [n == 0, (x > m) & ((n <= e) | ~rate_ok), n < c, (n < e) & (x == 0), n < e, rate_ok],
        [NOT_ENROLLED, MTD_EXCEEDED, INCOMPLETE, ESCALATE, EXPAND, ESCALATE],
        default=MTD_EXCEEDED,
    ).astype(object)


@dataclass(frozen=True)
class DoseEscalation:
    """The dose-escalation summary: :attr:`table` (one row per dose level, :data:`TABLE_COLUMNS`), the
    rule-based MTD and RP2D (ARMCD, or None) with their explanation, and the settings used."""

    studyid: str
    data_cut: str
    table: pd.DataFrame
    mtd: str | None
    mtd_text: str
    rp2d: str | None
    rp2d_text: str
    dlt_window_days: tuple[int, int]
    dose_unit: str = "10^6/kg"
    confidence_level: float = 0.95
    design: ThreePlusThree = field(default_factory=ThreePlusThree)

    @property
    def rule(self) -> str:
        """The decision rule, in words (printed with every format)."""
        d = self.design
        low, high = self.dlt_window_days
        return (
            f"3+3 design: per dose level, DLT-evaluable subjects (ADSL DLTEVLFL) and those with >= 1 DLT "
            f"(ADAE DLTFL, onset on protocol day {low}-{high}). 0/{d.cohort_size}: escalate; "
            f"1/{d.cohort_size}: expand to {d.expanded_size}; <= {d.max_dlt_expanded}/{d.expanded_size}: "
            f"escalate; >= 2/{d.cohort_size} or >= 2/{d.expanded_size}: MTD exceeded, the MTD is the "
            f"previous level. Rule-based RP2D: the highest level with >= {d.expanded_size} DLT-evaluable "
            f"subjects and a DLT rate <= {d.max_dlt_expanded}/{d.expanded_size}, below any level where the "
            f"MTD was exceeded. Exact Clopper-Pearson {self.confidence_level:.0%} CI."
        )


def _dlt_subjects(adae: pd.DataFrame) -> pd.DataFrame:
    """One row per subject with >= 1 DLT in the window, and the text of the DLT events."""
    dlt = adae.loc[(adae["DLTFL"] == "Y") & (adae["DLTWFL"] == "Y")].sort_values(["USUBJID", "AESEQ"])
    if dlt.empty:
        return pd.DataFrame({"USUBJID": pd.Series(dtype="str"), "_EVENTS": pd.Series(dtype="str")})
    grade = dlt["ATOXGRN"].astype("Float64").round().astype("Int64").astype("str").fillna("missing")
    text = {name: dlt[name].astype("str").fillna("") for name in ("USUBJID", "AEDECOD", "DLTCRIT")}
    event = text["USUBJID"] + ": " + text["AEDECOD"] + " (grade " + grade + ", " + text["DLTCRIT"] + ")"
    events = event.groupby(dlt["USUBJID"].to_numpy()).agg("; ".join)
    return pd.DataFrame({"USUBJID": events.index, "_EVENTS": events.to_numpy()})


def _mtd(table: pd.DataFrame) -> tuple[str | None, str, int]:
    """MTD = the level below the lowest level where the MTD was exceeded; returns (ARMCD or None,
    explanation, position of the first exceeded level or the number of levels)."""
    exceeded = np.flatnonzero(table["decision"].to_numpy() == MTD_EXCEEDED)
    if exceeded.size == 0:
        return None, "MTD not reached: no dose level exceeded the MTD.", len(table)
    first = int(exceeded[0])
    level = table["dose_level"].iloc[first]
    if first == 0:
        return None, f"MTD exceeded at the lowest dose level {level}: no tolerated dose level.", first
    mtd = str(table["dose_level"].iloc[first - 1])
    return mtd, f"MTD exceeded at {level}: the MTD is the previous level, {mtd}.", first


def _rp2d(table: pd.DataFrame, below: int, design: ThreePlusThree) -> tuple[str | None, str]:
    """The highest level below position ``below`` with >= 6 evaluable subjects and a rate <= 1/6."""
    n = table["evaluable"].to_numpy()
    x = table["with_dlt"].to_numpy()
    ok = (n >= design.expanded_size) & (x * design.expanded_size <= design.max_dlt_expanded * n)
    ok[below:] = False
    if not ok.any():
        return None, (
            f"RP2D not determined: no dose level has >= {design.expanded_size} DLT-evaluable subjects "
            f"with a DLT rate <= {design.max_dlt_expanded}/{design.expanded_size} below the MTD-exceeding level."
        )
    position = int(np.flatnonzero(ok)[-1])
    row = table.iloc[position]
    text = (
        f"Rule-based RP2D: {row['dose_level']} ({row['arm']}), {row['with_dlt']}/{row['evaluable']} "
        f"DLT-evaluable subjects with a DLT."
    )
    higher = table.iloc[position + 1 :]
    open_levels = higher.loc[higher["decision"].isin([EXPAND, INCOMPLETE]), "dose_level"].tolist()
    if open_levels:
        text += f" Provisional: {', '.join(map(str, open_levels))} still enrolling."
    return str(row["dose_level"]), text


def create_dose_escalation(
    adsl: pd.DataFrame,
    adae: pd.DataFrame,
    study: Study,
    design: ThreePlusThree = ThreePlusThree(),
    confidence_level: float = 0.95,
) -> DoseEscalation:
    """Build the dose-escalation summary from ADSL and ADAE (STUDY.md §3.2; see the module docstring).

    Dose levels are the actual ones (ADSL ACTARMCD) in the order of ``study.dose_levels``; every level
    of the study is listed, enrolled or not. ``investigator_dlt`` counts DLT-evaluable subjects with an
    investigator-assessed DLT (ADAE DLTINVFL) in the window, for comparison with the protocol rule.
    """
    adsl = require_frame(adsl, "adsl")
    adae = require_frame(adae, "adae")
    require_columns(adsl, ["USUBJID", "ACTARMCD", "SAFFL", "DLTEVLFL"], "adsl", "adsl")
    require_columns(
        adae,
        ["USUBJID", "AESEQ", "AEDECOD", "ATOXGRN", "DLTFL", "DLTWFL", "DLTCRIT", "DLTINVFL"],
        "adae",
        "adae",
    )
    levels = [d.armcd for d in study.dose_levels]
    unknown = sorted(set(adsl["ACTARMCD"].dropna()) - set(levels))
    if unknown:
        raise ValueError(f"adsl: ACTARMCD {unknown} not among the study dose levels {levels}")

    subjects = adsl.loc[adsl["ACTARMCD"].notna(), ["USUBJID", "ACTARMCD", "SAFFL", "DLTEVLFL"]]
    subjects = subjects.merge(_dlt_subjects(adae), on="USUBJID", how="left")
    investigator = adae.loc[(adae["DLTINVFL"] == "Y") & (adae["DLTWFL"] == "Y"), "USUBJID"].unique()
    evaluable = subjects["DLTEVLFL"] == "Y"
    subjects = subjects.assign(
        treated=(subjects["SAFFL"] == "Y").astype(int),
        evaluable=evaluable.astype(int),
        with_dlt=(evaluable & subjects["_EVENTS"].notna()).astype(int),
        investigator_dlt=(evaluable & subjects["USUBJID"].isin(investigator)).astype(int),
        dlt_events=subjects["_EVENTS"].where(evaluable),
    )
    counts = subjects.groupby("ACTARMCD").agg(
        treated=("treated", "sum"),
        evaluable=("evaluable", "sum"),
        with_dlt=("with_dlt", "sum"),
        investigator_dlt=("investigator_dlt", "sum"),
        dlt_events=("dlt_events", lambda s: "; ".join(s.dropna())),
    )
    counts = counts.reindex(levels).fillna(
        {"treated": 0, "evaluable": 0, "with_dlt": 0, "investigator_dlt": 0}
    )
    table = pd.DataFrame(
        {
            "dose_level": levels,
            "dose": [float(d.dose) for d in study.dose_levels],
            "arm": [d.arm for d in study.dose_levels],
            "treated": counts["treated"].astype(int).to_numpy(),
            "evaluable": counts["evaluable"].astype(int).to_numpy(),
            "with_dlt": counts["with_dlt"].astype(int).to_numpy(),
        }
    )
    n, x = table["evaluable"].to_numpy(), table["with_dlt"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["dlt_rate"] = np.where(n > 0, x / np.maximum(n, 1), np.nan)
    table["ci_lower"], table["ci_upper"] = compute_clopper_pearson(x, n, confidence_level)
    table["decision"] = decide_3plus3(n, x, design)
    table["investigator_dlt"] = counts["investigator_dlt"].astype(int).to_numpy()
    table["dlt_events"] = counts["dlt_events"].fillna("").to_numpy()
    table = table[list(TABLE_COLUMNS)]

    mtd, mtd_text, first_exceeded = _mtd(table)
    rp2d, rp2d_text = _rp2d(table, first_exceeded, design)
    return DoseEscalation(
        studyid=study.studyid,
        data_cut=study.data_cut.isoformat(),
        table=table,
        mtd=mtd,
        mtd_text=mtd_text,
        rp2d=rp2d,
        rp2d_text=rp2d_text,
        dlt_window_days=tuple(study.thresholds.dlt_window_days),
        dose_unit=study.dose_unit,
        confidence_level=confidence_level,
        design=design,
    )


# --- writers ----------------------------------------------------------------------------------------------


def dose_escalation_csv(result: DoseEscalation) -> str:
    """The per-level table as CSV text (rates and CI bounds as proportions, 4 decimals)."""
    table = result.table.copy()
    for column in ("dlt_rate", "ci_lower", "ci_upper"):
        table[column] = table[column].round(4)
    return table.to_csv(index=False, lineterminator="\n", float_format="%.4g")


def _percent(value: float) -> str:
    return "" if pd.isna(value) else f"{100 * value:.1f}%"


def _display_rows(result: DoseEscalation) -> list[list[str]]:
    rows = []
    for r in result.table.itertuples(index=False):
        ci = "" if pd.isna(r.ci_lower) else f"{_percent(r.ci_lower)} - {_percent(r.ci_upper)}"
        rate = "" if r.evaluable == 0 else f"{r.with_dlt}/{r.evaluable} ({_percent(r.dlt_rate)})"
        rows.append(
            [
                str(r.dose_level),
                f"{r.dose:g}",
                str(r.treated),
                str(r.evaluable),
                rate,
                ci,
                str(r.decision),
                str(r.investigator_dlt),
                str(r.dlt_events),
            ]
        )
    return rows


def _headers(result: DoseEscalation) -> list[str]:
    return [
        "Dose level",
        f"Dose ({result.dose_unit})",
        "Treated",
        "DLT-evaluable",
        "Subjects with DLT",
        f"{result.confidence_level:.0%} CI (Clopper-Pearson)",
        "3+3 decision",
        "Investigator-assessed DLT",
        "DLT events",
    ]


def _summary_lines(result: DoseEscalation) -> list[str]:
    return [
        f"Study {result.studyid}, data cut {result.data_cut}.",
        result.mtd_text,
        result.rp2d_text,
        "The recommended dose adjusted by the totality of the data is the safety review committee's decision.",
        result.rule,
    ]


def dose_escalation_markdown(result: DoseEscalation) -> str:
    """The report as Markdown: title, the per-level table, the MTD, the RP2D and the rule."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    headers = _headers(result)
    lines = [
        "# Dose escalation (3+3): DLT per dose level",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in _display_rows(result)]
    lines += ["", *[f"{line}\n" for line in _summary_lines(result)]]
    return "\n".join(lines).rstrip("\n") + "\n"


def dose_escalation_html(result: DoseEscalation) -> str:
    """The report as a self-contained HTML page (escaped text, no scripts)."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in _headers(result))
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>\n" for row in _display_rows(result)
    )
    notes = "".join(f"<p>{esc(line)}</p>\n" for line in _summary_lines(result))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(result.studyid)} dose escalation</title>\n"
        "<style>table{border-collapse:collapse}th,td{border:1px solid #999;padding:4px 8px;"
        "text-align:left}th{background:#eee}</style>\n</head>\n<body>\n"
        "<h1>Dose escalation (3+3): DLT per dose level</h1>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"
        f"{notes}</body>\n</html>\n"
    )
