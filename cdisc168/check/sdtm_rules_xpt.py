"""Checks of the SAS transport (XPT v5) limits and of variable lengths, from the dataset metadata.

FDA Study Data Technical Conformance Guide §3.3.2 (SAS transport version 5): dataset and variable names
at most 8 characters (letters, digits, underscores, starting with a letter), labels at most 40
characters, character values at most 200 bytes; §4.1.5 (dataset size): the length of a character
variable should be set to the longest value it holds.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from cdisc168.check import predicates as p
from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import (
    check,
    concat_failures,
    dataset_failure,
    dataset_failures,
    failures_where,
    no_failures,
)
from cdisc168.check.submission import Submission

XPT_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
MAX_LABEL = 40
MAX_CHAR_LENGTH = 200


def _is_ascii(label: str) -> bool:
    return label.isascii() and label.isprintable()


@check("xpt_dataset_name")
def check_xpt_dataset_name(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The dataset name is 1-8 upper-case letters, digits or underscores starting with a letter, and its
    label at most 40 printable ASCII characters (FDA TCG §3.3.2, SAS V5 transport)."""
    label = submission.metadata[name].label or ""
    if not XPT_NAME.match(name):
        return dataset_failure(f"dataset name {name!r} is not a SAS V5 name (1-8 of A-Z, 0-9, _)", value=name)
    if len(label) > MAX_LABEL or not _is_ascii(label):
        return dataset_failure(f"dataset label is longer than {MAX_LABEL} or not ASCII", value=label)
    return no_failures()


@check("xpt_variable_names")
def check_xpt_variable_names(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Variable names are SAS V5 names and labels at most 40 printable ASCII characters (FDA TCG §3.3.2)."""
    rows = []
    for variable, meta in submission.metadata[name].variables.items():
        label = str(meta.get("label") or "")
        if not XPT_NAME.match(variable):
            rows.append((variable, variable, f"variable name {variable!r} is not a SAS V5 name"))
        elif len(label) > MAX_LABEL or not _is_ascii(label):
            rows.append((variable, label, f"label of {variable} is longer than {MAX_LABEL} or not ASCII"))
    return dataset_failures(rows)


def _byte_lengths(values: pd.Series) -> np.ndarray:
    """UTF-8 byte length of each text value (0 for missing)."""
    mask = p.text_mask(values)
    if not mask.any():
        return np.zeros(len(values), dtype=np.int64)
    return pc.fill_null(pc.binary_length(p.arrow_text(values, mask)), 0).to_numpy(zero_copy_only=False)


def longest_value(submission: Submission, name: str, column: str) -> int:
    """The longest text value of a column in bytes (0 when it has none), computed once per submission."""

    def compute() -> int:
        lengths = _byte_lengths(submission.datasets[name][column])
        return int(lengths.max()) if len(lengths) else 0

    return submission.memo(("longest", name, column), compute)


def _char_variables(submission: Submission, name: str) -> list[tuple[str, int | None]]:
    """(name, declared length) of the Char variables that are columns of the dataset."""
    frame = submission.datasets[name]
    return [
        (v, meta.get("length"))
        for v, meta in submission.metadata[name].variables.items()
        if meta.get("type") == "Char" and v in frame.columns
    ]


@check("char_length_limit")
def check_char_length_limit(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Character values are at most 200 bytes, and no Char variable is declared longer (FDA TCG §3.3.2;
    SDTMIG 3.4 §4.5.3.2: longer text continues in SUPP-- or in numbered variables). A declared length over
    200 is reported on its own only when no value is too long (the values' findings say it already)."""
    frame = submission.datasets[name]
    found = []
    for variable, length in _char_variables(submission, name):
        if longest_value(submission, name, variable) > MAX_CHAR_LENGTH:
            too_long = _byte_lengths(frame[variable]) > MAX_CHAR_LENGTH
            found.append(failures_where(too_long, variable=variable))
        elif isinstance(length, int | float) and length > MAX_CHAR_LENGTH:
            message = f"{variable} is declared with length {int(length)} > 200"
            found.append(dataset_failure(message, variable=variable, value=int(length)))
    return concat_failures(found)


@check("char_length_fits")
def check_char_length_fits(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The declared length of a Char variable is the longest value it holds (FDA TCG §4.1.5: lengths set
    to the maximum length used, to keep datasets small)."""
    rows = []
    for variable, length in _char_variables(submission, name):
        if not isinstance(length, int | float):
            continue
        longest = max(1, longest_value(submission, name, variable))
        if int(length) > longest:
            rows.append(
                (variable, int(length), f"{variable} has length {int(length)}, its longest value {longest}")
            )
    return dataset_failures(rows)
