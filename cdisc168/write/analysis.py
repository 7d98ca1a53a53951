"""Writing the ADaM analysis datasets as XPT v5, metadata from the ADaM specs.

Numeric dates, datetimes and times (pandas datetime64 in the frames) become SAS numbers on writing,
with the spec's display format (DATE9., DATETIME20., TIME8.; ADaMIG 1.3 §3.1.2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from cdisc168.adam_spec import AdamSpec
from cdisc168.write.xpt import XptVariable, sas_date, sas_datetime, sas_time, write_xpt

_CONVERTERS = {"DATE9.": sas_date, "DATETIME20.": sas_datetime, "TIME8.": sas_time}


def adam_variables(spec: AdamSpec) -> list[XptVariable]:
    return [
        XptVariable(
            name=v.name,
            label=v.label,
            type="Num" if v.type == "Num" else "Char",
            length=v.length,
            display_format=v.display_format,
        )
        for v in spec.variables
    ]


def to_sas_values(frame: pd.DataFrame, spec: AdamSpec) -> pd.DataFrame:
    """Dates/datetimes/times as SAS numbers per the spec's display format; other columns unchanged."""
    out = frame.copy(deep=False)  # converted columns are replaced, never changed in place
    for v in spec.variables:
        convert = _CONVERTERS.get(v.display_format or "")
        if convert is not None and not pd.api.types.is_numeric_dtype(out[v.name]):
            out[v.name] = convert(out[v.name])
    return out


def write_analysis(
    datasets: dict[str, pd.DataFrame], specs: dict[str, AdamSpec], folder: Path, timestamp: dt.datetime
) -> dict[str, dict[str, int]]:
    """Write every ADaM dataset to ``folder/<name>.xpt``; returns the written lengths per dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    lengths = {}
    for name, frame in datasets.items():
        spec = specs[name]
        lengths[name] = write_xpt(
            to_sas_values(frame, spec),
            folder / f"{name.lower()}.xpt",
            name,
            spec.label,
            adam_variables(spec),
            timestamp,
        )
    return lengths
