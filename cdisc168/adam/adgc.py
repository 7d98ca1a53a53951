"""ADGC: glucocorticoid and immunosuppressant exposure at each analysis visit (BDS; STUDY.md §3.6).

One record per subject × parameter × analysis visit, built from CM (and SV for the visit dates) and
ADSL. The builder reads top to bottom like a template; each step is one named derivation.

**Daily exposure series** (STUDY.md §3.6 "Daily dose"). For every treated subject (ADSL SAFFL = "Y")
the days from LDSTDT − ``exposure_days_before_ld`` (study.yaml ``glucocorticoids``; 90) to the end of
follow-up carry

- the prednisone-equivalent dose, Σ CMDOSE × doses per day × factor over the disease-glucocorticoid
  records covering the day (ADaM has no place for the CM-level value SUPPCM PREDEQ of STUDY.md §2.3:
  it is this record rate);
- the number of disease-glucocorticoid and of immunosuppressant/biologic records covering the day.

A glucocorticoid record is a *disease* glucocorticoid unless it was given for CRS/ICANS or as
premedication (CMINDC, CMCAT CRS/ICANS MANAGEMENT; STUDY.md §2.3), is not systemic (route), or is
*stress dosing*: a course of at most ``stress_dosing_max_days`` days with complete dates given for
anything but the disease. A disease course counts on its days however short, so IV pulses count.

**Partial and missing dates** are imputed conservatively, i.e. towards more exposure, which can only
turn a visit GC-free → not GC-free and low-dose → not low-dose (admiral ``derive_vars_dt``):

==========================  ===================================================================
CM value                    exposure date used
==========================  ===================================================================
CMSTDTC ``2023-05``         first day of the month (``2023``: 1 January)
CMSTDTC missing             the first day of the series
CMENDTC ``2025-03``         last day of the month (``2025``: 31 December), at most the end of
                            follow-up
CMENDTC missing (CMENRTPT   the end of follow-up (ongoing)
ONGOING or unknown)
CMDOSFRQ ``ONCE``           the start date only
==========================  ===================================================================

A disease-glucocorticoid record whose daily dose cannot be computed (missing dose, unit, frequency or
factor, or a per-kg dose without WEIGHTBL) still counts as glucocorticoid exposure; a window containing
one of its days has GCDOSE missing and GCLOW/GCLOW5 "N".

**End of follow-up** = EOSDT, else (ongoing) LSTALVDT, else the data cut; at most DTHDT and the data cut.

**Visits.** ADT is the SV date of the scheduled visit (SVSTDTC), or, for a visit not done while the
subject was followed, its nominal date TRTSDT + protocol day (the CM log still covers it). The window
of a visit is the ``gc_free_window_days`` (28) days ending on ADT. A visit whose window closed by the
data cut but lies after the end of follow-up is *missing*: non-responder imputation (NRI, STUDY.md §3.6
"NRI for missing") by new rows within the parameter (ADaMIG 1.3 BDS DTYPE: a row added with a value
based on a constant): the Y/N parameters get AVALC "N" with DTYPE "WC" (worst case), GCDOSE a row with
missing AVAL and DTYPE "PHANTOM". Visits whose window is still open at the data cut have no record.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cdisc168.adam.derive import (
    derive_var_extreme_flag,
    derive_vars_chg,
    derive_vars_dt,
    derive_vars_dy,
    derive_vars_merged,
)
from cdisc168.adam_spec import AdamSpec, conform, load_adam_spec
from cdisc168.study import Study, StudyConfigError, Visit

CONFIG_KEY = "glucocorticoids"
BASETYPE = "PRE-LYMPHODEPLETION"  # STUDY.md Decisions: disease and immunology baseline
DTYPE_NRI = "WC"  # DTYPE C81203 worst case: the non-responder value "N"
DTYPE_MISSING = "PHANTOM"  # DTYPE C170545: a record with a missing AVAL for a missing visit
# ADSL variables carried to every record (new name → ADSL name); TRTA = TRT01A in a single-period study.
ADSL_VARS = {
    **{name: name for name in ("STUDYID", "SUBJID", "SITEID", "INDICAT")},
    "TRTA": "TRT01A",
    **{name: name for name in ("TRTSDT", "LDSTDT", "SAFFL", "EFFFL")},
}
_DAY = pd.Timedelta(days=1)
_DOSE_DECIMALS = 4  # GCDOSE precision: absorbs the rounding of factors such as 5 / 0.75


@dataclass(frozen=True)
class Parameter:
    """An ADGC parameter; ``source`` is the CM variable its single-record SRCVAR names."""

    paramcd: str
    paramn: float
    source: str


PARAMETERS = (
    Parameter("GCDOSE", 1.0, "CMDOSE"),
    Parameter("GCFREE", 2.0, "CMDECOD"),
    Parameter("GCLOW", 3.0, "CMDOSE"),
    Parameter("GCLOW5", 4.0, "CMDOSE"),
    Parameter("ISFREE", 5.0, "CMDECOD"),
    Parameter("GCISFREE", 6.0, "CMDECOD"),
)


def parameter_names(study: Study) -> dict[str, str]:
    """PARAM of each PARAMCD; the texts carry the study.yaml thresholds they are derived with."""
    t = study.thresholds
    days = t.gc_free_window_days
    return {
        "GCDOSE": f"Mean Prednisone-Eq GC Dose in Previous {days} Days (mg/day)",
        "GCFREE": f"No Systemic GC in Previous {days} Days",
        "GCLOW": f"Mean Prednisone-Eq GC Dose <= {t.gc_low_dose_mg:g} mg/day",
        "GCLOW5": f"Mean Prednisone-Eq GC Dose <= {t.gc_doris_dose_mg:g} mg/day",
        "ISFREE": f"No Immunosuppressant/Biologic in Previous {days} Days",
        "GCISFREE": f"No Systemic GC and No IS/Biologic in Previous {days} Days",
    }


# --------------------------------------------------------------------------------------------------
# configuration (study.yaml `glucocorticoids`)


@dataclass(frozen=True)
class GlucocorticoidConfig:
    """The validated ``glucocorticoids`` block of study.yaml (see that file for each key)."""

    prednisone_equivalence: Mapping[str, float]
    gc_categories: frozenset[str]
    systemic_routes: frozenset[str]
    excluded_indications: frozenset[str]
    excluded_categories: frozenset[str]
    disease_indications: frozenset[str]
    stress_dosing_max_days: int
    exposure_days_before_ld: int
    doses_per_day: Mapping[str, float]
    single_dose_frequencies: frozenset[str]
    dose_units_mg: Mapping[str, float]
    dose_units_mg_per_kg: Mapping[str, float]
    is_atc_prefixes: tuple[str, ...]
    is_indications: frozenset[str]
    is_decod: frozenset[str]
    analysis_visits: tuple[Visit, ...]


def _config_error(study: Study, key: str, problem: str) -> StudyConfigError:
    return StudyConfigError(f"{study.path}: {CONFIG_KEY}.{key}: {problem}")


def _texts(study: Study, block: Mapping[str, Any], key: str) -> frozenset[str]:
    value = block.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _config_error(study, key, f"expected a list of non-empty texts, got {value!r}")
    return frozenset(value)


def _numbers(study: Study, block: Mapping[str, Any], key: str) -> dict[str, float]:
    value = block.get(key)
    if not isinstance(value, dict) or not value:
        raise _config_error(study, key, f"expected a non-empty mapping, got {value!r}")
    out = {}
    for name, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
            raise _config_error(study, f"{key}.{name}", f"expected a number > 0, got {number!r}")
        out[str(name)] = float(number)
    return out


def _count(study: Study, block: Mapping[str, Any], key: str) -> int:
    value = block.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _config_error(study, key, f"expected an integer >= 0, got {value!r}")
    return value


def _doses_per_day(study: Study, block: Mapping[str, Any]) -> dict[str, float]:
    value = block.get("doses_per_days")
    if not isinstance(value, dict) or not value:
        raise _config_error(study, "doses_per_days", f"expected a mapping FREQ: [doses, days], got {value!r}")
    out = {}
    for freq, pair in value.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in pair)
        ):
            raise _config_error(study, f"doses_per_days.{freq}", f"expected [doses, days] > 0, got {pair!r}")
        out[str(freq)] = pair[0] / pair[1]
    return out


def load_gc_config(study: Study) -> GlucocorticoidConfig:
    """Read and validate study.yaml ``glucocorticoids`` (a bad value names its key path)."""
    data = yaml.safe_load(study.path.read_text(encoding="utf-8"))
    block = data.get(CONFIG_KEY) if isinstance(data, dict) else None
    if not isinstance(block, dict):
        raise StudyConfigError(f"{study.path}: {CONFIG_KEY}: is required (a mapping)")
    immuno = block.get("immunosuppressants")
    if not isinstance(immuno, dict):
        raise _config_error(study, "immunosuppressants", f"expected a mapping, got {immuno!r}")
    names = block.get("analysis_visits")
    if not isinstance(names, list) or not names:
        raise _config_error(study, "analysis_visits", f"expected a list of visit names, got {names!r}")
    visits = []
    for name in names:
        try:
            visits.append(study.visit_by_name(str(name)))
        except KeyError:
            raise _config_error(study, "analysis_visits", f"{name!r} is not a visit of `visits`") from None
    frequencies = _doses_per_day(study, block)
    single = _texts(study, block, "single_dose_frequencies")
    unknown = sorted(single - set(frequencies))
    if unknown:
        raise _config_error(study, "single_dose_frequencies", f"{unknown} are not in doses_per_days")
    prefixes = _texts(study, immuno, "atc_prefixes")
    return GlucocorticoidConfig(
        prednisone_equivalence=_numbers(study, block, "prednisone_equivalence"),
        gc_categories=_texts(study, block, "gc_categories"),
        systemic_routes=_texts(study, block, "systemic_routes"),
        excluded_indications=_texts(study, block, "excluded_indications"),
        excluded_categories=_texts(study, block, "excluded_categories"),
        disease_indications=_texts(study, block, "disease_indications"),
        stress_dosing_max_days=_count(study, block, "stress_dosing_max_days"),
        exposure_days_before_ld=_count(study, block, "exposure_days_before_ld"),
        doses_per_day=frequencies,
        single_dose_frequencies=single,
        dose_units_mg=_numbers(study, block, "dose_units_mg"),
        dose_units_mg_per_kg=_numbers(study, block, "dose_units_mg_per_kg"),
        is_atc_prefixes=tuple(sorted(prefixes)),
        is_indications=_texts(study, immuno, "indications"),
        is_decod=_texts(study, immuno, "decod"),
        analysis_visits=tuple(sorted(visits, key=lambda v: v.visitnum)),
    )


# --------------------------------------------------------------------------------------------------
# the builder


def build_adgc(
    sdtm: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study
) -> pd.DataFrame:
    """ADGC from CM, SV and ADSL (STUDY.md §3.6; needs ``adam["ADSL"]``)."""
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADGC.yaml")
    config = load_gc_config(study)
    subjects = derive_vars_followup(adam["ADSL"], study, config)
    exposure = derive_vars_cm_exposure(sdtm["CM"], subjects, config)
    visits = derive_vars_analysis_visit(subjects, sdtm["SV"], study, config)
    adgc = derive_param_gc(visits, _ExposureGrid(subjects, exposure), study)
    adgc = derive_vars_merged(adgc, adam["ADSL"], by_vars=["USUBJID"], new_vars=ADSL_VARS)
    adgc = derive_vars_dy(adgc, reference_date="TRTSDT", source_vars=["ADT"])
    adgc["BASETYPE"] = pd.Series(BASETYPE, index=adgc.index, dtype="str")
    adgc = derive_var_ablfl(adgc)
    adgc = derive_vars_gcdose_chg(adgc)
    adgc = derive_var_extreme_flag(
        adgc, ["USUBJID", "PARAMCD", "BASETYPE", "AVISITN"], ["ADT"], "ANL01FL", mode="last"
    )
    return conform(_char_as_text(adgc, spec), spec)


def _char_as_text(frame: pd.DataFrame, spec: AdamSpec) -> pd.DataFrame:
    """Char variables of the spec as pandas ``str`` (missing stays missing)."""
    out = frame.copy()
    for variable in spec.variables:
        if variable.type == "Char" and variable.name in out.columns:
            out[variable.name] = out[variable.name].astype("str")
    return out


# --------------------------------------------------------------------------------------------------
# subjects and their follow-up


def derive_vars_followup(adsl: pd.DataFrame, study: Study, config: GlucocorticoidConfig) -> pd.DataFrame:
    """One row per treated subject (SAFFL = "Y") with the span of the daily series: ``_FROM`` =
    LDSTDT (TRTSDT without LD) − ``exposure_days_before_ld``, ``_TO`` = the end of follow-up (EOSDT,
    else LSTALVDT, else the data cut; at most DTHDT and the data cut); ``_N`` days, ``_OFF`` the
    position of the subject's first day in the concatenated series."""
    cut = pd.Timestamp(study.data_cut)
    treated = adsl.loc[adsl["SAFFL"].eq("Y").fillna(False).to_numpy(dtype=bool)]
    out = pd.DataFrame({"USUBJID": treated["USUBJID"].astype("str").to_numpy()})
    for name in ("TRTSDT", "LDSTDT", "EOSDT", "LSTALVDT", "DTHDT"):
        out[name] = pd.to_datetime(treated[name].to_numpy()).astype("datetime64[us]")
    out["WEIGHTBL"] = treated["WEIGHTBL"].astype("float64").to_numpy() if "WEIGHTBL" in treated else np.nan
    out["_FROM"] = out["LDSTDT"].fillna(out["TRTSDT"]) - config.exposure_days_before_ld * _DAY
    end = out["EOSDT"].fillna(out["LSTALVDT"]).fillna(cut)
    end = end.where(out["DTHDT"].isna() | (end <= out["DTHDT"]), out["DTHDT"]).clip(upper=cut)
    out["_TO"] = end.where(end >= out["_FROM"], out["_FROM"]).astype("datetime64[us]")
    out["_N"] = ((out["_TO"] - out["_FROM"]) / _DAY).astype("int64") + 1
    out["_OFF"] = np.concatenate([[0], np.cumsum(out["_N"].to_numpy())[:-1]]).astype("int64")
    return out


# --------------------------------------------------------------------------------------------------
# CM records → exposure records


def _starts_with_any(values: pd.Series, prefixes: Sequence[str]) -> np.ndarray:
    text = values.astype("str").fillna("")
    hit = np.zeros(len(values), dtype=bool)
    for prefix in prefixes:
        hit |= text.str.startswith(prefix).fillna(False).to_numpy(dtype=bool)
    return hit


def _in(values: pd.Series, allowed: frozenset[str]) -> np.ndarray:
    return values.isin(allowed).fillna(False).to_numpy(dtype=bool)


def derive_vars_cm_exposure(
    cm: pd.DataFrame, subjects: pd.DataFrame, config: GlucocorticoidConfig
) -> pd.DataFrame:
    """The CM records that count, one row each: USUBJID, CMSEQ, ``_KIND`` ("GC" disease glucocorticoid
    or "IS" immunosuppressant/biologic), ASTDT/AENDT (imputed as in the module docstring) and ``_RATE``
    the prednisone-equivalent mg per day of a GC record (NaN = unknown).

    ==========================================  ======================================================
    condition                                   rule (study.yaml ``glucocorticoids``)
    ==========================================  ======================================================
    glucocorticoid                              CMDECOD in ``prednisone_equivalence`` or CMCAT in
                                                ``gc_categories``
    counts as disease GC                        systemic route (or missing), CMINDC not in
                                                ``excluded_indications``, CMCAT not in
                                                ``excluded_categories``, not stress dosing
    stress dosing                               complete dates, AENDT − ASTDT + 1 <=
                                                ``stress_dosing_max_days``, CMINDC given and not in
                                                ``disease_indications``
    immunosuppressant/biologic                  not a GC; CMDECOD in ``immunosuppressants.decod`` or
                                                CMCLASCD starting with an ``atc_prefixes`` entry;
                                                CMINDC in ``immunosuppressants.indications`` or missing;
                                                CMCAT not excluded
    ``_RATE``                                   CMDOSE × mg per CMDOSU (per-kg units × WEIGHTBL) ×
                                                doses per day of CMDOSFRQ × factor of CMDECOD
    ==========================================  ======================================================
    """
    columns = ["USUBJID", "CMSEQ", "CMDECOD", "CMCAT", "CMINDC", "CMCLASCD", "CMDOSE", "CMDOSU"]
    columns += ["CMDOSFRQ", "CMROUTE", "CMSTDTC", "CMENDTC"]
    span = subjects[["USUBJID", "_FROM", "_TO", "WEIGHTBL"]]
    # CMCAT, CMINDC, CMCLASCD and the dosing variables are Exp/Perm in SDTMIG 3.4: absent ones are null.
    rec = cm.reindex(columns=columns).merge(span, on="USUBJID", how="inner")
    decod = rec["CMDECOD"]
    excluded = _in(rec["CMINDC"], config.excluded_indications) | _in(rec["CMCAT"], config.excluded_categories)
    is_gc = _in(decod, frozenset(config.prednisone_equivalence)) | _in(rec["CMCAT"], config.gc_categories)
    systemic = rec["CMROUTE"].isna().to_numpy() | _in(rec["CMROUTE"], config.systemic_routes)
    is_is = (
        ~is_gc
        & ~excluded
        & (_in(decod, config.is_decod) | _starts_with_any(rec["CMCLASCD"], config.is_atc_prefixes))
        & (rec["CMINDC"].isna().to_numpy() | _in(rec["CMINDC"], config.is_indications))
    )

    rec = derive_vars_dt(rec, "AST", "CMSTDTC", highest_imputation="Y", min_dates=["_FROM"])
    rec = derive_vars_dt(
        rec, "AEN", "CMENDTC", highest_imputation="Y", date_imputation="last", max_dates=["_TO"]
    )
    single = _in(rec["CMDOSFRQ"], config.single_dose_frequencies)
    rec["AENDT"] = rec["AENDT"].where(~single, rec["ASTDT"])
    rec["AENDT"] = rec["AENDT"].where(rec["AENDT"] >= rec["ASTDT"], rec["ASTDT"])
    complete = rec["ASTDTF"].isna().to_numpy() & (rec["AENDTF"].isna().to_numpy() | single)
    days = ((rec["AENDT"] - rec["ASTDT"]) / _DAY).to_numpy() + 1
    stress = (
        complete
        & (days <= config.stress_dosing_max_days)
        & rec["CMINDC"].notna().to_numpy()
        & ~_in(rec["CMINDC"], config.disease_indications)
    )
    counts_gc = is_gc & systemic & ~excluded & ~stress

    unit = rec["CMDOSU"].map(config.dose_units_mg).astype("float64")
    per_kg = rec["CMDOSU"].map(config.dose_units_mg_per_kg).astype("float64") * rec["WEIGHTBL"]
    milligrams = rec["CMDOSE"].astype("float64") * unit.fillna(per_kg)
    rate = (
        milligrams
        * rec["CMDOSFRQ"].map(config.doses_per_day).astype("float64")
        * decod.map(config.prednisone_equivalence).astype("float64")
    )
    rec["_KIND"] = np.select([counts_gc, is_is], ["GC", "IS"], default="")
    rec["_RATE"] = rate.where(counts_gc)
    keep = (
        (rec["_KIND"] != "")
        & rec["ASTDT"].notna()
        & (rec["ASTDT"] <= rec["_TO"])
        & (rec["AENDT"] >= rec["_FROM"])
    )
    _warn_unknown_doses(rec.loc[keep & rec["_RATE"].isna() & (rec["_KIND"] == "GC")])
    return rec.loc[keep, ["USUBJID", "CMSEQ", "_KIND", "ASTDT", "AENDT", "_RATE"]].reset_index(drop=True)


def _warn_unknown_doses(records: pd.DataFrame) -> None:
    """A disease glucocorticoid without a computable daily dose makes GCDOSE missing: say which."""
    if records.empty:
        return
    kinds = records[["CMDECOD", "CMDOSU", "CMDOSFRQ"]].astype("str").fillna("(missing)").drop_duplicates()
    examples = "; ".join(" ".join(row) for row in kinds.head(5).itertuples(index=False))
    warnings.warn(
        f"ADGC: {len(records)} disease glucocorticoid CM record(s) without a computable daily dose "
        f"(CMDECOD CMDOSU CMDOSFRQ: {examples}); their windows have GCDOSE missing, GCLOW/GCLOW5 'N'. "
        "Add the factor, unit or frequency to study.yaml glucocorticoids if it is known.",
        UserWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------------------------------
# the daily series and its window sums


class _ExposureGrid:
    """The daily series of every subject, end to end on one day axis, with prefix sums for windows.

    Vectorised with difference arrays: a record adds its rate (and 1 to its kind's count) at its first
    day and removes it after its last, so one cumulative sum gives the daily values, with no loop and
    no one-row-per-day explosion of the records. Window totals are differences of prefix sums. The
    number of records overlapping days [a, b] is #(first day <= b) − #(last day < a), found by binary
    search in the sorted record days: records of other subjects cancel, as their days lie wholly
    before or after the subject's block.
    """

    def __init__(self, subjects: pd.DataFrame, records: pd.DataFrame) -> None:
        self.subjects = subjects
        self.size = int(subjects["_N"].sum())
        where = subjects.set_index("USUBJID")
        off = records["USUBJID"].map(where["_OFF"]).to_numpy(dtype="int64")
        start = records["USUBJID"].map(where["_FROM"]).to_numpy()
        end = records["USUBJID"].map(where["_TO"]).to_numpy()
        one_day = np.timedelta64(1, "D")
        lo = off + (np.maximum(records["ASTDT"].to_numpy(), start) - start) // one_day
        hi = off + (np.minimum(records["AENDT"].to_numpy(), end) - start) // one_day
        kind = records["_KIND"].to_numpy()
        rate = records["_RATE"].to_numpy(dtype="float64")
        seq = records["CMSEQ"].to_numpy(dtype="float64")
        gc, immuno = kind == "GC", kind == "IS"
        known = gc & ~np.isnan(rate)
        ones = np.ones(len(kind))
        self._records = {
            "GC": (lo[gc], hi[gc], ones[gc]),
            "IS": (lo[immuno], hi[immuno], ones[immuno]),
            "UNKNOWN": (lo[gc & ~known], hi[gc & ~known], ones[gc & ~known]),
            "DOSE": (lo[known], hi[known], rate[known]),
        }
        self.prefix = {
            "GCDAYS": self._prefix(self.daily("GC") > 0),
            "ISDAYS": self._prefix(self.daily("IS") > 0),
            "UNKNOWN": self._prefix(self.daily("UNKNOWN") > 0),
            "DOSE": self._prefix(self.daily("DOSE")),
        }
        self._bounds = {}
        for name in ("GC", "IS"):
            mine = kind == name
            by_first, by_last = np.argsort(lo[mine], kind="stable"), np.argsort(hi[mine], kind="stable")
            self._bounds[name] = (
                lo[mine][by_first],
                np.concatenate([[0.0], np.cumsum(seq[mine][by_first])]),
                hi[mine][by_last],
                np.concatenate([[0.0], np.cumsum(seq[mine][by_last])]),
            )

    def daily(self, name: str) -> np.ndarray:
        """The daily value of ``name``: GC / IS record counts, UNKNOWN (GC records of unknown dose),
        DOSE (prednisone-equivalent mg of the GC records of known dose)."""
        lo, hi, value = self._records[name]
        diff = np.bincount(lo, weights=value, minlength=self.size + 1)
        diff -= np.bincount(hi + 1, weights=value, minlength=self.size + 1)
        return np.round(np.cumsum(diff)[: self.size], 9)

    @staticmethod
    def _prefix(values: np.ndarray) -> np.ndarray:
        kind = "int32" if values.dtype == bool else "float64"  # day counts: half the memory
        return np.concatenate([np.zeros(1, dtype=kind), np.cumsum(values, dtype=kind)])

    def window(self, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Σ of daily ``name`` (GCDAYS, ISDAYS, UNKNOWN: days with such records; DOSE) over days a..b."""
        return self.prefix[name][b + 1] - self.prefix[name][a]

    def overlapping(self, kind: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Number of ``kind`` records overlapping days a..b, and the sum of their CMSEQ."""
        firsts, first_seq, lasts, last_seq = self._bounds[kind]
        started = np.searchsorted(firsts, b, side="right")
        ended = np.searchsorted(lasts, a, side="left")
        return started - ended, first_seq[started] - last_seq[ended]


def create_gc_exposure_series(
    cm: pd.DataFrame, adsl: pd.DataFrame, study: Study, config: GlucocorticoidConfig | None = None
) -> pd.DataFrame:
    """The daily exposure series (STUDY.md §3.6), one row per treated subject and day from LDSTDT − 90
    days to the end of follow-up: USUBJID, ADT, PREDEQ (prednisone-equivalent mg that day from disease
    glucocorticoids; NaN when a record of unknown dose covers the day), GCN and ISN (number of disease
    glucocorticoid / immunosuppressant-biologic records covering the day). For derivations that need
    the day-by-day course (e.g. ADRS rescue therapy: a GC increase sustained over days)."""
    config = config or load_gc_config(study)
    subjects = derive_vars_followup(adsl, study, config)
    grid = _ExposureGrid(subjects, derive_vars_cm_exposure(cm, subjects, config))
    n = subjects["_N"].to_numpy()
    first = np.repeat(subjects["_FROM"].to_numpy(), n)
    day = np.arange(grid.size) - np.repeat(subjects["_OFF"].to_numpy(), n)
    dose = np.where(grid.daily("UNKNOWN") > 0, np.nan, grid.daily("DOSE"))
    return pd.DataFrame(
        {
            "USUBJID": pd.Series(np.repeat(subjects["USUBJID"].to_numpy(), n), dtype="str"),
            "ADT": (first + day.astype("timedelta64[D]")).astype("datetime64[us]"),
            "PREDEQ": dose,
            "GCN": grid.daily("GC"),
            "ISN": grid.daily("IS"),
        }
    )


# --------------------------------------------------------------------------------------------------
# analysis visits


def derive_vars_analysis_visit(
    subjects: pd.DataFrame, sv: pd.DataFrame, study: Study, config: GlucocorticoidConfig
) -> pd.DataFrame:
    """Subject × analysis visit (study.yaml ``glucocorticoids.analysis_visits``): AVISIT, AVISITN
    (VISITNUM), ADT and ``_IMPUTED``.

    ================================================  ===========================  ===========
    visit                                             ADT                          _IMPUTED
    ================================================  ===========================  ===========
    in SV, dated within follow-up                     SVSTDTC date                 False
    not in SV, nominal date within follow-up          TRTSDT + protocol day        False
    otherwise, visit window closed by the data cut    (null)                       True (NRI)
    otherwise (window still open at the data cut)     no record (not yet due)
    ================================================  ===========================  ===========

    The visit window closes on TRTSDT + the last protocol day of its study.yaml window (MONTH 24:
    D744), so a subject whose follow-up ends before a visit that could still be done after the data
    cut is not imputed.
    """
    cut = pd.Timestamp(study.data_cut)
    schedule = pd.DataFrame(
        {
            "AVISIT": pd.Series([v.visit for v in config.analysis_visits], dtype="str"),
            "AVISITN": [float(v.visitnum) for v in config.analysis_visits],
            "_DAY": [v.day for v in config.analysis_visits],
            "_LATEST": [v.window[1] for v in config.analysis_visits],
        }
    )
    grid = subjects[["USUBJID", "TRTSDT", "_TO"]].merge(schedule, how="cross")
    nominal = grid["TRTSDT"] + pd.to_timedelta(grid["_DAY"], unit="D")
    done = sv.loc[sv["VISIT"].isin(schedule["AVISIT"]), ["USUBJID", "VISIT", "SVSTDTC"]]
    done = derive_vars_dt(done, "SV", "SVSTDTC").dropna(subset=["SVDT"])
    grid = derive_vars_merged(
        grid,
        done,
        by_vars={"USUBJID": "USUBJID", "AVISIT": "VISIT"},
        new_vars=["SVDT"],
        order=["SVDT"],
        mode="first",
    )
    observed = grid["SVDT"].where(grid["SVDT"] <= grid["_TO"])
    observed = observed.fillna(nominal.where(nominal <= grid["_TO"]))
    grid["ADT"] = observed.astype("datetime64[us]")
    closed = grid["TRTSDT"] + pd.to_timedelta(grid["_LATEST"], unit="D") <= cut
    grid["_IMPUTED"] = grid["ADT"].isna() & closed
    keep = grid["ADT"].notna() | grid["_IMPUTED"]
    return grid.loc[keep, ["USUBJID", "AVISIT", "AVISITN", "ADT", "_IMPUTED"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# parameters


def _flag_text(values: np.ndarray) -> np.ndarray:
    return np.where(values, "Y", "N").astype(object)


def derive_param_gc(visits: pd.DataFrame, grid: _ExposureGrid, study: Study) -> pd.DataFrame:
    """The six parameters at every analysis visit (STUDY.md §3.6) from the window of
    ``gc_free_window_days`` days ending on ADT (clipped to the series):

    ========  =========================================================  =============================
    PARAMCD   AVAL / AVALC                                               single-record source
    ========  =========================================================  =============================
    GCDOSE    mean daily prednisone-eq dose (mg/day), 4 decimals;        the one GC record in window
              null if a day has a GC record of unknown dose
    GCFREE    "Y" when no day has a disease GC record, else "N"          the one GC record
    GCLOW     "Y" when GCDOSE <= gc_low_dose_mg, else "N" (also when     the one GC record
              GCDOSE is unknown)
    GCLOW5    "Y" when GCDOSE <= gc_doris_dose_mg, else "N"              the one GC record
    ISFREE    "Y" when no day has an IS/biologic record, else "N"        the one IS record
    GCISFREE  "Y" when GCFREE = "Y" and ISFREE = "Y", else "N"           the one GC or IS record
    ========  =========================================================  =============================

    Y/N parameters have AVAL 1 ("Y") or 0 ("N"). SRCDOM "CM", SRCVAR and SRCSEQ (CMSEQ) are set when
    exactly one CM record contributes to the window. Missing visits (``_IMPUTED``): the Y/N parameters
    get AVALC "N" (DTYPE "WC"), GCDOSE a missing AVAL (DTYPE "PHANTOM").
    """
    t = study.thresholds
    length = t.gc_free_window_days
    where = grid.subjects.set_index("USUBJID")
    off = visits["USUBJID"].map(where["_OFF"]).to_numpy(dtype="int64")
    start = visits["USUBJID"].map(where["_FROM"])
    last = visits["USUBJID"].map(where["_N"]).to_numpy(dtype="int64") - 1
    imputed = visits["_IMPUTED"].to_numpy(dtype=bool)
    day = ((visits["ADT"] - start) / _DAY).fillna(0).to_numpy(dtype="int64").clip(0, last)
    a = off + np.maximum(day - (length - 1), 0)
    b = off + day
    dose = np.round(grid.window("DOSE", a, b) / (b - a + 1), _DOSE_DECIMALS) + 0.0  # no -0.0
    dose = np.where(grid.window("UNKNOWN", a, b) > 0, np.nan, dose)
    gc_free = grid.window("GCDAYS", a, b) == 0
    is_free = grid.window("ISDAYS", a, b) == 0
    n_gc, seq_gc = grid.overlapping("GC", a, b)
    n_is, seq_is = grid.overlapping("IS", a, b)
    with np.errstate(invalid="ignore"):
        flags = {
            "GCFREE": gc_free,
            "GCLOW": dose <= t.gc_low_dose_mg,
            "GCLOW5": dose <= t.gc_doris_dose_mg,
            "ISFREE": is_free,
            "GCISFREE": gc_free & is_free,
        }
    sources = {
        "GCDOSE": (n_gc, seq_gc),
        "GCFREE": (n_gc, seq_gc),
        "GCLOW": (n_gc, seq_gc),
        "GCLOW5": (n_gc, seq_gc),
        "ISFREE": (n_is, seq_is),
        "GCISFREE": (n_gc + n_is, seq_gc + seq_is),
    }
    names = parameter_names(study)
    pieces = []
    for param in PARAMETERS:
        piece = visits[["USUBJID", "AVISIT", "AVISITN", "ADT"]].copy()
        piece["PARAMCD"] = param.paramcd
        piece["PARAM"] = names[param.paramcd]
        piece["PARAMN"] = param.paramn
        if param.paramcd == "GCDOSE":
            piece["AVAL"] = np.where(imputed, np.nan, dose)
            piece["AVALC"] = None
            piece["DTYPE"] = np.where(imputed, DTYPE_MISSING, None)
        else:
            value = flags[param.paramcd] & ~imputed
            piece["AVAL"] = value.astype("float64")
            piece["AVALC"] = _flag_text(value)
            piece["DTYPE"] = np.where(imputed, DTYPE_NRI, None)
        count, seq = sources[param.paramcd]
        single = (count == 1) & ~imputed
        piece["SRCDOM"] = np.where(single, "CM", None)
        piece["SRCVAR"] = np.where(single, param.source, None)
        piece["SRCSEQ"] = np.where(single, np.round(seq), np.nan)
        pieces.append(piece)
    out = pd.concat(pieces, ignore_index=True)
    for name in ("PARAMCD", "PARAM", "AVALC", "DTYPE", "SRCDOM", "SRCVAR"):
        out[name] = out[name].astype("str")
    return out


# --------------------------------------------------------------------------------------------------
# baseline, change from baseline


def derive_var_ablfl(adgc: pd.DataFrame) -> pd.DataFrame:
    """ABLFL (BASETYPE "PRE-LYMPHODEPLETION", STUDY.md §3 Conventions): per subject and parameter the
    last observed record (DTYPE null, AVAL present) dated on or before LDSTDT: the BASELINE visit."""
    return derive_var_extreme_flag(
        adgc,
        ["USUBJID", "PARAMCD", "BASETYPE"],
        ["ADT"],
        "ABLFL",
        mode="last",
        filter=lambda d: (d["ADT"] <= d["LDSTDT"]) & d["DTYPE"].isna() & d["AVAL"].notna(),
    )


def derive_vars_gcdose_chg(adgc: pd.DataFrame) -> pd.DataFrame:
    """BASE, CHG, PCHG of GCDOSE (ADaMIG 1.3 §3.3.4): BASE on every GCDOSE record, CHG/PCHG on the
    records after LDSTDT; null for the Y/N parameters (their baseline is the ABLFL record's AVALC)."""
    out = derive_vars_chg(
        adgc, filter=lambda d: (d["PARAMCD"] == "GCDOSE") & (d["ADT"] > d["LDSTDT"]) & d["ABLFL"].isna()
    )
    out["BASE"] = out["BASE"].where(out["PARAMCD"] == "GCDOSE")
    return out
