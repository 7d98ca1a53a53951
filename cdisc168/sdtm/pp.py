"""SDTM PP: cellular kinetic parameters computed from the finished PC records (the ``@nca`` source).

SDTMIG 3.4 PP (Pharmacokinetic Parameters) with STUDY.md §2.8 and the algorithm of §3.4 (implemented in
the stage-neutral :mod:`cdisc168.nca`). One record per subject × analyte (PPCAT = PCTESTCD) × specimen ×
parameter, computed from actual times since the infusion start (PCRFTDTC):

=========  ================  =====================================  ========================================
PPTESTCD   nca parameter     PPORRESU / PPSTRESU (PKUNIT)           notes
=========  ================  =====================================  ========================================
CMAX       Cmax              PCSTRESU of the analyte                highest quantifiable post-infusion value
TMAX       Tmax              day                                    first occurrence of Cmax
TLST       Tlast             day                                    TLSTCNSR = "Y": the last sample is still
                                                                    quantifiable (persistence censored)
CLST       Clast             PCSTRESU                               value at Tlast
AUCLST     AUClast           day*<PCSTRESU> (sponsor PKUNIT terms)  0 to Tlast, linear trapezoid
AUCINT     AUC(0-28), (0-90) day*<PCSTRESU>                         PPSTINT "P0D", PPENINT "P28D" / "P90D";
                                                                    PPPARTFL = "Y" when it ends before the
                                                                    interval's end (within the visit window)
=========  ================  =====================================  ========================================

Times: (PCDTC − PCRFTDTC) in days when both carry a time; a sample or infusion date without a time
counts in whole days (date − infusion date: the protocol-day distance; the time is unknown, so it is not
taken as 00:00 of a timed infusion); a partial date places no sample. The window that allows a partial
AUC(0-T) is the study.yaml visit window of protocol day T (DAY 28: [25, 31]) on protocol days (the
calendar day of the sample). Quantifiable = PCSTRESN present and not below PCLLOQ; BLQ = a result below
the LLOQ ("<20" / "BLQ" in PCSTRESC, or PCSTRESN < PCLLOQ); anything else (not done, above the ULOQ) is
not used. Subjects without an infusion (no PCRFTDTC) get no parameters; an infused subject's analyte
without a quantifiable post-infusion result gets every parameter with PPSTAT "NOT DONE" and PPREASND.

PCSEQS lists the PCSEQ of the PC records each parameter used (space-separated, time order) for RELREC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168 import nca
from cdisc168.raw.contracts import FORM, ROW
from cdisc168.sdtm import dates
from cdisc168.sdtm.results import number_text
from cdisc168.spec import VIRTUAL_FORMS
from cdisc168.study import Study

SOURCE = "@nca"
AUC_END_DAYS = (28, 90)  # AUC(0-28 d) and AUC(0-90 d), STUDY.md §2.8
TIME_UNIT = "day"  # PKUNIT C25301
PPTESTCD = {
    nca.CMAX: "CMAX",
    nca.TMAX: "TMAX",
    nca.TLAST: "TLST",
    nca.CLAST: "CLST",
    nca.AUCLAST: "AUCLST",
    nca.AUCINT: "AUCINT",
}
_BY = ["USUBJID", "PCTESTCD", "PCSPEC"]
_NO_QUANTIFIABLE = "NO QUANTIFIABLE POST-INFUSION RESULT"


def elapsed_days(dtc: pd.Series, ref_dtc: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(actual days, protocol days) from ``ref_dtc`` to ``dtc``, aligned by index.

    Actual: exact when both values carry a time, else the whole-day difference of the dates; NaN for
    partial or missing dates. Protocol days: the whole-day difference of the dates (protocol D0 = 0).
    """
    moment, ref_moment = dates.dtc_datetime(dtc), dates.dtc_datetime(ref_dtc)
    day, ref_day = dates.dtc_date(dtc), dates.dtc_date(ref_dtc)
    protocol = (day - ref_day) / pd.Timedelta(days=1)
    exact = (moment - ref_moment) / pd.Timedelta(days=1)
    actual = exact.where(moment.notna() & ref_moment.notna(), protocol)
    return actual.astype("float64"), protocol.astype("float64")


def auc_intervals(study: Study) -> list[nca.AucInterval]:
    """AUC(0-T) for T in :data:`AUC_END_DAYS`; a partial AUC needs a sample from the first day of the
    window of the study.yaml visit at protocol day T (none when no visit is planned on day T)."""
    windows = {v.day: v.window for v in study.visits}
    return [
        nca.AucInterval(end=float(end), min_end=float(windows[end][0]) if end in windows else None)
        for end in AUC_END_DAYS
    ]


def _joined(used: pd.DataFrame, n_rows: int) -> np.ndarray:
    """Space-separated record ids per parameter row (None for a row that used none)."""
    counts = np.bincount(used["row"].to_numpy(dtype=np.int64), minlength=n_rows)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    records = pc.cast(pa.array(used["record"].to_numpy(dtype="float64").astype(np.int64)), pa.string())
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), records), " ")
    out = text.to_numpy(zero_copy_only=False).astype(object)
    out[counts == 0] = None
    return out


def _reasons(parameters: pd.DataFrame, intervals: list[nca.AucInterval]) -> pd.Series:
    """PPREASND for the parameters not computed (the nca reason codes in words)."""
    interval_text = {
        i.end: f"NO QUANTIFIABLE RESULT AT OR AFTER DAY {i.end:g}"
        if i.min_end is None
        else f"LAST QUANTIFIABLE RESULT BEFORE DAY {i.min_end:g}, NONE AT OR AFTER DAY {i.end:g}"
        for i in intervals
    }
    code = parameters["reason"]
    reason = pd.Series(None, index=parameters.index, dtype="object")
    reason[(code == nca.REASON_NO_QUANTIFIABLE).to_numpy()] = _NO_QUANTIFIABLE
    interval = (code == nca.REASON_INTERVAL).to_numpy()
    reason[interval] = parameters.loc[interval, "end"].map(interval_text)
    return reason


def nca_parameters(
    pc_frame: pd.DataFrame, study: Study, *, blq_between: nca.BlqBetween = "zero"
) -> pd.DataFrame:
    """One row per subject, analyte, specimen and parameter: the PP values of the ``@nca`` source, PCSEQS,
    and the flags ``TLSTCNSR`` and ``PPPARTFL`` ("Y" or None); see the module docstring.

    ``blq_between="missing"`` gives the sensitivity analysis (BLQ between quantifiable results left out).
    """
    infused = pc_frame.loc[pc_frame["PCRFTDTC"].notna() & pc_frame["PCTESTCD"].notna()]
    infused = infused.reset_index(drop=True)
    actual, protocol = elapsed_days(infused["PCDTC"], infused["PCRFTDTC"])
    value = pd.to_numeric(infused["PCSTRESN"], errors="coerce")
    lloq = pd.to_numeric(infused["PCLLOQ"], errors="coerce")
    quantifiable = value.notna() & ~(value < lloq)
    text = infused["PCSTRESC"].astype("object").fillna("").astype(str).str.strip()
    blq = ~quantifiable & ((value < lloq) | text.str.startswith("<") | (text == "BLQ"))
    samples = pd.DataFrame(
        {
            **{c: infused[c].astype("object") for c in _BY},
            "TIME": actual,
            "DAY": protocol,
            "CONC": value.where(quantifiable),
            "BLQ": blq,
            "PCSEQ": pd.to_numeric(infused["PCSEQ"], errors="coerce"),
        }
    )
    intervals = auc_intervals(study)
    result = nca.compute_nca(
        samples,
        _BY,
        record="PCSEQ",
        window_time="DAY",
        intervals=intervals,
        blq_between=blq_between,
    )
    profile = (
        infused.groupby(_BY, sort=False, dropna=False)
        .agg(_UNIT=("PCSTRESU", "first"), _REF=("PCRFTDTC", "first"))
        .reset_index()
    )
    par = result.parameters.merge(profile, how="left", on=_BY, validate="many_to_one")
    unit = par["_UNIT"].astype("object").to_numpy()
    reference = par["_REF"].astype("object")

    done = par["value"].notna().to_numpy()
    param = par["param"].to_numpy()
    is_time = np.isin(param, [nca.TMAX, nca.TLAST])
    is_auc = np.isin(param, [nca.AUCLAST, nca.AUCINT])
    unit_text = np.where(is_time, TIME_UNIT, np.where(is_auc, TIME_UNIT + "*" + unit.astype(str), unit))
    unit_text = np.where(done & (pd.notna(unit) | is_time), unit_text, None)
    result_text = number_text(par["value"]).where(done, None)
    is_int = param == nca.AUCINT
    return pd.DataFrame(
        {
            "USUBJID": par["USUBJID"],
            "PPCAT": par["PCTESTCD"],
            "PPTESTCD": par["param"].map(PPTESTCD).astype("object"),
            "PPORRES": result_text,
            "PPORRESU": unit_text,
            "PPSTRESC": result_text,
            "PPSTRESN": pd.to_numeric(result_text, errors="coerce"),
            "PPSTRESU": unit_text,
            "PPSPEC": par["PCSPEC"],
            "PPSTINT": np.where(is_int, "P0D", None),
            "PPENINT": np.where(is_int, par["end"].map({i.end: f"P{i.end:g}D" for i in intervals}), None),
            "PPRFTDTC": reference,
            "PPREASND": _reasons(par, intervals).where(~done, None),
            "PPSTAT": np.where(done, None, "NOT DONE"),
            "PCSEQS": _joined(result.used, len(par)),
            "TLSTCNSR": np.where(par["censored"].to_numpy(dtype=bool), "Y", None),
            "PPPARTFL": np.where(par["partial"].to_numpy(dtype=bool), "Y", None),
        }
    )


def nca_source(pc_frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The ``@nca`` virtual source of PP: the columns of ``VIRTUAL_FORMS["@nca"]`` plus ``_FORM``/``_ROW``.

    ``pc_frame`` is the finished PC dataset (PCSEQ derived). The BLQ rule is the primary (conservative)
    one: BLQ between quantifiable results count as 0. Only the declared columns are passed on: the flags
    TLSTCNSR and PPPARTFL of :func:`nca_parameters` reach SUPPPP once ``VIRTUAL_FORMS`` declares them.
    """
    frame = nca_parameters(pc_frame, study)
    columns = list(VIRTUAL_FORMS[SOURCE])
    frame = frame[columns].astype("object")
    frame["PPSTRESN"] = pd.to_numeric(frame["PPSTRESN"], errors="coerce").astype("float64")
    return frame.assign(**{FORM: SOURCE, ROW: np.arange(1, len(frame) + 1)})
