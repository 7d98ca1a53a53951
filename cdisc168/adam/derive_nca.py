"""Relative times of the ADaM NCA variable set: AFRLT, ARRLT, NFRLT, NRRLT and their unit RRLTU
(CDISC ADaM Implementation Guide for Non-compartmental Analysis Input Data v1.0, ADNCA)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    choice,
    column_name,
    datetimes,
    require_absent,
    require_columns,
    require_frame,
)
from cdisc168.sdtm import dates

#: Units of relative time and their length; the keys are the CDISC UNIT submission values
#: (C71620: DAYS, HOURS, min, WEEKS) and the PKUNIT ones (C85494: day, h, min).
RELATIVE_TIME_UNITS: dict[str, pd.Timedelta] = {
    "DAYS": pd.Timedelta(days=1),
    "day": pd.Timedelta(days=1),
    "HOURS": pd.Timedelta(hours=1),
    "h": pd.Timedelta(hours=1),
    "min": pd.Timedelta(minutes=1),
    "WEEKS": pd.Timedelta(weeks=1),
}


def _nominal(dataset: pd.DataFrame, column: str, arg: str, unit: pd.Timedelta) -> pd.Series:
    """A nominal time in ``unit``: numbers as they are, ISO 8601 durations (--ELTM) converted."""
    values = dataset[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    if values.isna().all():
        return pd.Series(np.nan, index=dataset.index)
    if pd.api.types.is_string_dtype(values.dtype):
        valid = dates.is_iso8601_duration(values)
        if not valid.all():
            bad = values[~valid].iloc[0]
            raise ValueError(
                f"{arg}: column {column} holds {bad!r}, neither a number nor an ISO 8601 duration"
            )
        return dates.iso_duration_to_days(values) * (pd.Timedelta(days=1) / unit)
    raise TypeError(
        f"{arg}: column {column} must hold numbers or ISO 8601 durations, got dtype {values.dtype}"
    )


def derive_vars_relative_time(
    dataset: pd.DataFrame,
    dtm: str = "ADTM",
    first_dose_dtm: str = "FANLDTM",
    ref_dose_dtm: str | None = None,
    nominal: str = "NFRLT",
    nominal_ref: str | None = None,
    unit: str = "DAYS",
) -> pd.DataFrame:
    """Add AFRLT, ARRLT, NFRLT, NRRLT and RRLTU (ADNCA v1.0 relative time variables).

    - AFRLT = (``dtm`` − ``first_dose_dtm``) in ``unit``: actual time from the analyte's first
      dose (FANLDTM; in C-CAR168 the infusion start, STUDY.md §3.4).
    - ARRLT = (``dtm`` − ``ref_dose_dtm``) in ``unit``: actual time from the reference (most
      recent) dose. ``ref_dose_dtm=None`` means a single dose: the reference dose is the first
      dose and ARRLT = AFRLT.
    - NFRLT = ``nominal``: the nominal (planned) time from first dose, in ``unit``; a numeric column
      or SDTM --ELTM ISO 8601 durations (``P7D``, ``-PT15M``). Copied to NFRLT if named otherwise.
    - NRRLT = NFRLT − ``nominal_ref`` (the nominal time of the reference dose from first dose);
      ``nominal_ref=None`` (single dose) gives NRRLT = NFRLT.
    - RRLTU = ``unit`` (UNIT C71620 ``DAYS``/``HOURS``/``min``/``WEEKS`` or PKUNIT ``day``/``h``).

    Times before the dose are negative; a missing date-time gives a missing actual time. The
    ADaM NCA set replaces ARELTM (STUDY.md "Decisions").

    ============================  ===================  ======  ======  =====
    ADTM                          FANLDTM              AFRLT   NFRLT   RRLTU
    ============================  ===================  ======  ======  =====
    2024-05-13T09:00 (pre-dose)   2024-05-13T10:00     -0.042  0       DAYS
    2024-05-20T10:00              2024-05-13T10:00     7.0     7       DAYS
    ============================  ===================  ======  ======  =====

    Example:

    >>> import pandas as pd
    >>> adpc = pd.DataFrame({"ADTM": pd.to_datetime(["2024-05-14 22:00", "2024-05-20 10:00"]),
    ...                      "FANLDTM": pd.to_datetime(["2024-05-13 10:00"] * 2), "PCELTM": ["P1D", "P7D"]})
    >>> derive_vars_relative_time(adpc, nominal="PCELTM")[["AFRLT", "ARRLT", "NFRLT", "NRRLT", "RRLTU"]]
       AFRLT  ARRLT  NFRLT  NRRLT RRLTU
    0    1.5    1.5    1.0    1.0  DAYS
    1    7.0    7.0    7.0    7.0  DAYS
    """
    dataset = require_frame(dataset, "dataset")
    dtm = column_name(dtm, "dtm")
    first_dose_dtm = column_name(first_dose_dtm, "first_dose_dtm")
    nominal = column_name(nominal, "nominal")
    length = RELATIVE_TIME_UNITS[choice(unit, RELATIVE_TIME_UNITS, "unit")]
    require_columns(dataset, [dtm], "dtm")
    require_columns(dataset, [first_dose_dtm], "first_dose_dtm")
    if ref_dose_dtm is not None:
        require_columns(dataset, [column_name(ref_dose_dtm, "ref_dose_dtm")], "ref_dose_dtm")
    require_columns(dataset, [nominal], "nominal")
    if nominal_ref is not None:
        require_columns(dataset, [column_name(nominal_ref, "nominal_ref")], "nominal_ref")
    require_absent(dataset, ["AFRLT", "ARRLT", "NRRLT", "RRLTU"], "dataset")
    if nominal != "NFRLT":
        require_absent(dataset, ["NFRLT"], "nominal")

    moment = datetimes(dataset, dtm, "dtm")
    afrlt = (moment - datetimes(dataset, first_dose_dtm, "first_dose_dtm")) / length
    arrlt = (
        afrlt
        if ref_dose_dtm is None
        else (moment - datetimes(dataset, ref_dose_dtm, "ref_dose_dtm")) / length
    )
    nfrlt = _nominal(dataset, nominal, "nominal", length)
    nrrlt = nfrlt if nominal_ref is None else nfrlt - _nominal(dataset, nominal_ref, "nominal_ref", length)
    out = dataset.copy()
    out["AFRLT"] = afrlt.astype("float64")
    out["ARRLT"] = arrlt.astype("float64")
    out["NFRLT"] = nfrlt.astype("float64")
    out["NRRLT"] = nrrlt.astype("float64")
    out["RRLTU"] = pd.Series(unit, index=dataset.index, dtype="str")
    return out
