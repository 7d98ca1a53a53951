"""SDTM conformance checks judged against the SDTMIG 3.4 metadata and the full CDISC CT, and the helpers
every SDTM check module shares.

The IG metadata checks (required, expected, type, label, codelist) look a dataset up by its domain:
the DOMAIN value of its records (split datasets such as ``QSCG`` belong to QS), else its name; a
``SUPP--`` dataset (or a combined ``SUPPQUAL``) is judged as SUPPQUAL (SDTMIG 3.4 §8.4). A dataset the
IG does not describe (a custom domain) is left to the version-independent rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.check import predicates as p
from cdisc168.check.catalog import RuleDef
from cdisc168.check.define_data import read_define
from cdisc168.check.registry import (
    check,
    concat_failures,
    dataset_failures,
    display_value,
    failures_at,
    failures_where,
)
from cdisc168.check.submission import SDTM, Submission
from cdisc168.sdtm import dates
from cdisc168.standards import ct, ig

SUPP_PREFIX = "SUPP"
RESULT_SUFFIXES = ("ORRES", "STRESC")
"""Result variables whose codelist applies to character results only (SDTMIG 3.4 Findings: --STRESC holds
numbers as text too): a result with a digit in it ("5.1", "<1") is not judged against the codelist."""


# --- shared helpers -----------------------------------------------------------------------------


def domain_of(submission: Submission, name: str) -> str:
    """The SDTM domain a dataset holds: its DOMAIN value (split datasets), else its name."""
    frame = submission.datasets[name]
    if "DOMAIN" in frame.columns and len(frame):
        first = frame["DOMAIN"].iloc[0]
        if isinstance(first, str) and first.strip():
            return first.strip().upper()
    return name


def is_supp(name: str) -> bool:
    return name.startswith(SUPP_PREFIX)


def ig_variables(submission: Submission, name: str) -> tuple[ig.IGVariable, ...]:
    """The SDTMIG 3.4 variables of the dataset's domain (SUPPQUAL for SUPP--), empty for a custom domain."""
    domain = "SUPPQUAL" if is_supp(name) else domain_of(submission, name)
    try:
        return ig.sdtmig_domain_variables(domain)
    except ig.IGLookupError:
        return ()


def observation_class(submission: Submission, name: str) -> str:
    """The SDTMIG 3.4 observation class of the dataset's domain ("" when the IG does not know it)."""
    try:
        return ig.sdtmig_dataset(domain_of(submission, name)).observation_class
    except ig.IGLookupError:
        return ""


def present(values: pd.Series) -> np.ndarray:
    """True where a value is populated: not missing and, for text, not blank (SDTMIG 3.4 §4.5.1)."""
    filled = values.notna().to_numpy(dtype=bool)
    mask = p.text_mask(values)
    if mask.any():
        arr = p.arrow_text(values, mask)
        blank = pc.fill_null(pc.utf8_is_space(arr), False).to_numpy(zero_copy_only=False)
        empty = pc.fill_null(pc.equal(pc.binary_length(arr), 0), False).to_numpy(zero_copy_only=False)
        filled = filled & ~(blank | empty)
    return filled


def text(values: pd.Series) -> pd.Series:
    """Text values stripped of surrounding blanks, as pyarrow strings on the same index; missing, blank
    and non-text values are missing. Numbers are spelled as :func:`display_value` spells them."""
    if (
        not pd.api.types.is_object_dtype(values.dtype)
        and not p.text_mask(values).any()
        and values.notna().any()
    ):
        values = pd.Series([display_value(v) for v in values], index=values.index, dtype=object)
    arr = pc.utf8_trim_whitespace(p.arrow_text(values))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr)
    return pd.Series(pd.array(arr, dtype="str"), index=values.index, name=values.name)


def codes_in(values: pd.Series, choices: Sequence[str]) -> np.ndarray:
    """Position of each text value (stripped) in ``choices``, -1 where it is none of them or missing."""
    arr = pa.array(text(values).array)
    found = pc.index_in(arr, value_set=pa.array(list(choices), type=pa.large_string()))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def judged_on_distinct(values: pd.Series, judge: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """``judge`` (Series in, bool array out) applied to the distinct values only and spread back to every
    record (False where missing): coded columns repeat few values over millions of records."""
    codes, uniques = pd.factorize(values)
    verdict = np.append(np.asarray(judge(pd.Series(uniques)), dtype=bool), False)
    return verdict[codes]


def as_numbers(values: pd.Series) -> np.ndarray:
    """float64 values of a column (text that is not a number → NaN)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(text(values), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


# --- values shared by rules, computed once per submission ------------------------------------------


def column_present(submission: Submission, name: str, column: str) -> np.ndarray:
    """:func:`present` of a dataset column (memoised)."""
    return submission.memo(("present", name, column), lambda: present(submission.datasets[name][column]))


def column_text(submission: Submission, name: str, column: str) -> pd.Series:
    """:func:`text` of a dataset column (memoised)."""
    return submission.memo(("text", name, column), lambda: text(submission.datasets[name][column]))


class DateBounds:
    """What a --DTC column says about time (SDTMIG 3.4 §4.4.2 partial dates), one datetime64 per record,
    each parsed on first use: ``first``/``last`` are the first and last day the value can denote (NaT when
    missing or not ISO 8601), ``day`` the date of a complete date (``first`` where it equals ``last``),
    ``instant`` the date-time of a value that has a time."""

    def __init__(self, values: pd.Series, positions: np.ndarray | None = None) -> None:
        self._values = values
        self._positions = positions

    @cached_property
    def _factors(self) -> tuple[np.ndarray, pd.Series]:
        """(code of each record, distinct values): dates repeat a lot, so each distinct one is parsed once."""
        codes, uniques = pd.factorize(self._values)
        return codes, pd.Series(uniques, dtype=object)

    def _pick(self, parse: Callable[[pd.Series], pd.Series]) -> np.ndarray:
        codes, uniques = self._factors
        parsed = np.append(parse(uniques).to_numpy(dtype="datetime64[us]"), np.datetime64("NaT"))
        out = parsed[codes]
        if self._positions is None:
            return out
        return np.append(out, np.datetime64("NaT"))[self._positions]

    @cached_property
    def first(self) -> np.ndarray:
        return self._pick(dates.earliest_possible)

    @cached_property
    def last(self) -> np.ndarray:
        return self._pick(dates.latest_possible)

    @cached_property
    def day(self) -> np.ndarray:
        return np.where(self.first == self.last, self.first, np.datetime64("NaT"))

    @cached_property
    def instant(self) -> np.ndarray:
        return self._pick(dates.dtc_datetime)

    def take(self, positions: np.ndarray) -> DateBounds:
        """The bounds at ``positions`` of these values (-1 gives NaT: e.g. a subject DM does not have)."""
        return DateBounds(self._values, positions)


def column_dates(submission: Submission, name: str, column: str) -> DateBounds:
    """:class:`DateBounds` of a --DTC column (each kind parsed once per submission)."""
    return submission.memo(("dates", name, column), lambda: DateBounds(submission.datasets[name][column]))


def certainly_after(first: DateBounds, second: DateBounds) -> np.ndarray:
    """True where ``first`` is certainly later than ``second``: its earliest day is after the latest day
    of ``second``, or both carry a time and ``first`` is the later instant (SDTMIG 3.4 §4.4.2)."""
    return (first.first > second.last) | (first.instant > second.instant)


def _dm_has(submission: Submission, variable: str) -> bool:
    dm = submission.datasets.get("DM")
    return dm is not None and {"USUBJID", variable} <= set(dm.columns)


def subject_positions(submission: Submission, name: str) -> np.ndarray:
    """Position in DM of each record's subject (its first DM record); -1 where DM lacks the subject."""

    def compute() -> np.ndarray:
        frame = submission.datasets[name]
        if not _dm_has(submission, "USUBJID") or "USUBJID" not in frame.columns:
            return np.full(len(frame), -1, dtype=np.int64)
        subjects = submission.datasets["DM"]["USUBJID"]
        firsts = np.flatnonzero(~subjects.duplicated().to_numpy())
        found = pd.Index(subjects.iloc[firsts]).get_indexer(frame["USUBJID"])
        return np.append(firsts, -1)[found]

    return submission.memo(("dm-position", name), compute)


def subject_values(submission: Submission, name: str, variable: str) -> np.ndarray:
    """DM ``variable`` of each record's subject (object array aligned with dataset ``name``; None where the
    subject is not in DM or DM lacks the variable)."""
    if not _dm_has(submission, variable):
        return np.full(len(submission.datasets[name]), None, dtype=object)
    values = submission.datasets["DM"][variable].to_numpy(dtype=object)
    return np.append(values, None)[subject_positions(submission, name)]


def subject_dates(submission: Submission, name: str, variable: str) -> DateBounds:
    """:class:`DateBounds` of DM ``variable`` (e.g. RFSTDTC) for each record's subject; DM is parsed once."""
    positions = subject_positions(submission, name)
    if not _dm_has(submission, variable):
        return DateBounds(pd.Series([], dtype=object), np.full(len(positions), -1, dtype=np.int64))
    return submission.memo(
        ("subject-dates", name, variable),
        lambda: column_dates(submission, "DM", variable).take(positions),
    )


# --- IG metadata: required, expected, type, label -------------------------------------------------


def _ig_core(submission: Submission, name: str, core: str) -> list[ig.IGVariable]:
    return [v for v in ig_variables(submission, name) if v.core == core]


@check("ig_variable_present")
def check_ig_variable_present(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Every variable of IG core ``params.core`` (Req or Exp) is a column of the dataset (SDTMIG 3.4
    §4.1.1.5 / §2.5: Required variables must be present; Expected variables must be included)."""
    columns = set(submission.datasets[name].columns)
    return dataset_failures(
        (v.name, None, "") for v in _ig_core(submission, name, rule.params["core"]) if v.name not in columns
    )


@check("ig_required_populated")
def check_ig_required_populated(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Required (core Req) variables are populated on every record (SDTMIG 3.4 §4.1.1.5: "cannot be null
    for any record")."""
    frame = submission.datasets[name]
    found = [
        failures_where(~column_present(submission, name, v.name), variable=v.name)
        for v in _ig_core(submission, name, "Req")
        if v.name in frame.columns
    ]
    return concat_failures(found)


@check("ig_type")
def check_ig_type(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """A variable's type (Char/Num) is the SDTMIG 3.4 type (SDTMIG 3.4 §2.4 variable metadata)."""
    variables = submission.metadata[name].variables
    return dataset_failures(
        (
            v.name,
            variables[v.name].get("type"),
            f"{v.name} is {variables[v.name].get('type')}; SDTMIG 3.4: {v.type}",
        )
        for v in ig_variables(submission, name)
        if v.name in variables and variables[v.name].get("type") != v.type
    )


@check("ig_label")
def check_ig_label(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """A variable's label is the SDTMIG 3.4 label (SDTMIG 3.4 §2.4: labels as in the IG)."""
    variables = submission.metadata[name].variables
    labels = {v: str(meta.get("label") or "").strip() for v, meta in variables.items()}
    return dataset_failures(
        (v.name, labels[v.name], f"label of {v.name} is not the SDTMIG 3.4 label {v.label!r}")
        for v in ig_variables(submission, name)
        if v.name in labels and labels[v.name] != v.label
    )


# --- controlled terminology -----------------------------------------------------------------------


@cache
def _codelist_values(codes: tuple[str, ...]) -> tuple[frozenset[str], bool, str] | None:
    """(terms of the union of codelists, all non-extensible, names) or None when none is in the CT."""
    found = [c for c in (ct.find_codelist(code) for code in codes) if c is not None]
    if not found:
        return None
    values = frozenset(v for c in found for v in c.values)
    names = " / ".join(f"{c.short_name} ({c.code})" for c in found)
    return values, not any(c.extensible for c in found), names


def _not_terms(values: pd.Series, variable: str, allowed: frozenset[str]) -> np.ndarray:
    """True where a text value (stripped) is not a term; numeric results of --ORRES/--STRESC pass."""
    mask = p.text_mask(values)
    if not mask.any():
        return np.zeros(len(values), dtype=bool)
    arr = p.arrow_text(values, mask)
    known = pc.is_in(
        pc.utf8_trim_whitespace(arr), value_set=pa.array(sorted(allowed), type=pa.large_string())
    )
    if variable.endswith(RESULT_SUFFIXES):
        known = pc.or_kleene(known, pc.match_substring_regex(arr, r"[0-9]"))
    return ~pc.fill_null(known, True).to_numpy(zero_copy_only=False)


def _first_of_each_value(values: pd.Series, bad: np.ndarray, variable: str, message: str) -> pd.DataFrame:
    """One failure per distinct failing value, at its first record, with the number of records."""
    positions = np.flatnonzero(bad)
    codes = pd.factorize(values.iloc[positions])[0]
    firsts, counts = np.unique(codes, return_index=True, return_counts=True)[1:]
    return failures_at(
        positions[firsts],
        variable=variable,
        message=[f"{message} ({n} record{'' if n == 1 else 's'})" for n in counts],
    )


def declared_terms(submission: Submission, name: str, variable: str) -> frozenset[str]:
    """The values the submission's define.xml lists in the codelists of ``name.variable``: its own
    CodeListRef and those of its value-level items (Define-XML 2.1 §4.3.2: sponsor terms added to an
    extensible codelist are declared there, ``def:ExtendedValue="Yes"``). Empty without a define.xml."""
    tree = submission.define.get(submission.standards.get(name, SDTM))
    if tree is None:
        return frozenset()
    model = read_define(tree)
    items = [i for i in model.variables(name) if i.name == variable]
    value_items = [
        model.items.get(v.item)
        for i in items
        if i.value_list
        for v in model.value_lists.get(i.value_list, ())
    ]
    codelists = {i.codelist for i in [*items, *value_items] if i is not None and i.codelist}
    return frozenset().union(*(model.codelists.get(c) or frozenset() for c in codelists))


def _outside_ct(
    values: pd.Series, variable: str, terms: frozenset[str], defined: frozenset[str], declared: str | None
) -> np.ndarray:
    """Values that are not CDISC terms; with ``declared="exclude"`` those define.xml declares are left
    out, with ``declared="only"`` only those are kept."""
    outside = _not_terms(values, variable, terms)
    if declared == "exclude":
        return outside & _not_terms(values, variable, defined)
    if declared == "only":
        return outside & ~_not_terms(values, variable, defined)
    return outside


@check("ig_codelist")
def check_ig_codelist(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Values are terms of the CDISC CT codelist(s) the SDTMIG 3.4 assigns (SDTMIG 3.4 §4.3). With several
    codelists (DSDECOD, EGTESTCD, PPORRESU) a value of any of them passes. ``params.extensible`` selects
    the variables: false → only non-extensible codelists (an error), true → those with an extensible one
    (sponsor terms allowed, so a warning). Numeric results in --ORRES/--STRESC are not judged. With
    ``params.per_value`` each distinct value is reported once, at its first record, with its record count
    (a sponsor term in an extensible codelist is one decision, not one problem per record).
    ``params.declared``: "exclude" leaves out the values the define.xml codelists of the variable declare
    (documented sponsor extensions), "only" reports just those (Define-XML 2.1, def:ExtendedValue)."""
    frame = submission.datasets[name]
    wanted = bool(rule.params.get("extensible", False))
    declared = rule.params.get("declared")
    found = []
    for variable in ig_variables(submission, name):
        if not variable.codelist_codes or variable.name not in frame.columns:
            continue
        terms = _codelist_values(variable.codelist_codes)
        if terms is None:
            continue
        allowed, closed, names = terms
        if closed == wanted:
            continue
        defined = declared_terms(submission, name, variable.name) if declared else frozenset()
        if declared == "only" and not defined:
            continue
        bad = judged_on_distinct(
            frame[variable.name],
            lambda v, n=variable.name, a=allowed, d=defined: _outside_ct(v, n, a, d, declared),
        ) & column_present(submission, name, variable.name)
        message = (
            f"{variable.name} value is a sponsor extension of codelist {names}, declared in define.xml"
            if declared == "only"
            else f"{variable.name} value is not a term of codelist {names}"
        )
        if rule.params.get("per_value"):
            found.append(_first_of_each_value(frame[variable.name], bad, variable.name, message))
        else:
            found.append(failures_where(bad, variable=variable.name, message=message))
    return concat_failures(found)
