"""Writing the SDTM tabulation datasets as XPT v5, with metadata taken from the same specs.

Each dataset keeps exactly its spec's variables in spec order (lineage columns stay out of the file and
go to the lineage report). SUPP-- datasets take their variables from the SDTMIG 3.4 SUPPQUAL metadata.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from cdisc168.spec import DatasetSpec
from cdisc168.standards import ig
from cdisc168.write.xpt import XptVariable, write_xpt

SUPP_PREFIX = "SUPP"


def spec_variables(spec: DatasetSpec) -> list[XptVariable]:
    """XPT metadata of a dataset from its spec (names, labels, types; lengths are the longest value)."""
    return [
        XptVariable(name=v.name, label=v.label, type="Num" if v.type == "Num" else "Char", length=v.length)
        for v in spec.variables
    ]


def supp_variables() -> list[XptVariable]:
    """XPT metadata of a SUPP-- dataset: the SDTMIG 3.4 SUPPQUAL variables in IG order."""
    return [
        XptVariable(name=v.name, label=v.label, type="Num" if v.type == "Num" else "Char")
        for v in ig.sdtmig_domain_variables("SUPPQUAL")
    ]


def supp_label(parent: str) -> str:
    return f"Supplemental Qualifiers for {parent}"


def dataset_metadata(
    name: str, specs: dict[str, DatasetSpec], columns: list[str] | None = None
) -> tuple[str, list[XptVariable]]:
    """(dataset label, variables) for a parent dataset or its SUPP--.

    A variable continued in the record itself (TSVAL → TSVAL1..n, SDTMIG 3.4 TS assumption 4) is
    followed by its continuation columns present in the data, labelled like the parent + number.
    """
    if name.startswith(SUPP_PREFIX) and name not in specs:
        return supp_label(name[len(SUPP_PREFIX) :]), supp_variables()
    spec = specs[name]
    variables = []
    for variable in spec_variables(spec):
        variables.append(variable)
        k = 1
        while (
            columns is not None and f"{variable.name}{k}" in columns and variable.name in ("TSVAL", "COVAL")
        ):
            label = f"{variable.label} {k}"
            variables.append(XptVariable(name=f"{variable.name}{k}", label=label, type="Char"))
            k += 1
    return spec.label, variables


def tabulation_frame(name: str, frame: pd.DataFrame, specs: dict[str, DatasetSpec]) -> pd.DataFrame:
    """The dataset as it is written: exactly its variables in spec order (lineage columns left out)."""
    _, variables = dataset_metadata(name, specs, list(frame.columns))
    return frame[[v.name for v in variables]]


def write_tabulations(
    datasets: dict[str, pd.DataFrame], specs: dict[str, DatasetSpec], folder: Path, timestamp: dt.datetime
) -> dict[str, dict[str, int]]:
    """Write every dataset to ``folder/<name>.xpt``; returns the written lengths per dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    lengths = {}
    for name, frame in datasets.items():
        label, variables = dataset_metadata(name, specs, list(frame.columns))
        data = tabulation_frame(name, frame, specs)
        lengths[name] = write_xpt(data, folder / f"{name.lower()}.xpt", name, label, variables, timestamp)
    return lengths
