"""Check functions of the ADaM rules (``rules/adam.yaml``), ADaMIG v1.3.

Each check takes ``(submission, rule, dataset name)`` and returns the failing records (see
:mod:`cdisc168.check.registry`); a variable the dataset lacks means the check does not apply. Checks
that compare with another dataset (DM, ADSL, the SDTM dataset named by SRCDOM) join by ``isin`` on
keys, never by looping over records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.check import predicates
from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import (
    check,
    dataset_failure,
    display_value,
    failures_at,
    failures_where,
    no_failures,
)
from cdisc168.check.submission import ADAM, Submission
from cdisc168.standards import ig

ADSL = "ADSL"
USUBJID = "USUBJID"
# ADaMIG 1.3 placeholders in variable names and labels: xx/zz two digits, y/w an index.
_PLACEHOLDERS = {"xx": r"(?P<xx>\d\d)", "zz": r"(?P<zz>\d\d)", "y": r"(?P<y>\d+)", "w": r"(?P<w>\d+)"}
_PLACEHOLDER_RE = re.compile("|".join(_PLACEHOLDERS))
_NO_TEXT = pa.scalar(None, pa.large_string())


def _text(values: pd.Series) -> pa.Array:
    """Text values as one pyarrow array, trimmed, with missing and blank text as null (ADaM treats a
    blank value as missing). Every comparison below runs on it in C++, so a column of millions of
    records takes a fraction of a second."""
    trimmed = pc.utf8_trim_whitespace(predicates.arrow_text(values))
    return pc.if_else(pc.equal(trimmed, ""), _NO_TEXT, trimmed)


def _bools(result: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A pyarrow boolean result as a numpy mask (null counts as False)."""
    return np.asarray(pc.fill_null(result, False).to_numpy(zero_copy_only=False), dtype=bool)


def _present(values: pd.Series) -> np.ndarray:
    """True where a value is populated (blank text counts as missing)."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.notna().to_numpy(dtype=bool)
    return _bools(pc.is_valid(_text(values)))


def _distinct_failures(values: pa.Array, mask: np.ndarray, variable: str, template: str) -> pd.DataFrame:
    """One failure per distinct failing value, at its first record; ``template`` may use {value},
    {quoted} (the value quoted, or "null"), {count} and {s} (the plural ending). Only the failing
    records are turned into Python values."""
    positions = np.flatnonzero(mask)
    if not len(positions):
        return no_failures()
    failing = pd.Series(values.take(pa.array(positions)).to_pylist(), dtype=object)
    codes, _ = pd.factorize(failing, use_na_sentinel=False)
    _, first = np.unique(codes, return_index=True)
    counts = np.bincount(codes)
    order = np.sort(first)
    shown = [display_value(failing.iloc[i]) for i in order]
    numbers = [int(counts[codes[i]]) for i in order]
    messages = [
        template.format(value=v, quoted=repr(v) if v else "null", count=n, s="" if n == 1 else "s")
        for v, n in zip(shown, numbers, strict=True)
    ]
    return failures_at(positions[order], variable=variable, message=messages, value=shown)


def _concat(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    found = [p for p in parts if len(p)]
    return pd.concat(found, ignore_index=True) if found else no_failures()


# --- ADSL ----------------------------------------------------------------------------------------


@check("adam_one_record_per_subject")
def check_one_record_per_subject(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """ADSL has one record per subject (ADaMIG 1.3 §3.2): every repeat of a USUBJID fails."""
    frame = submission.get(name)
    if frame is None or USUBJID not in frame.columns:
        return no_failures()
    subjects = pd.Series(_text(frame[USUBJID]).to_pylist(), dtype=object)
    repeated = subjects.notna().to_numpy(dtype=bool) & subjects.duplicated().to_numpy(dtype=bool)
    return failures_where(repeated, variable=USUBJID)


@check("adam_subject_in_dataset")
def check_subject_in_dataset(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Every USUBJID is a subject of ``params.dataset`` (DM for ADSL: ADaMIG 1.3 §3.2, ADSL USUBJID is
    DM.USUBJID; ADSL for the other ADaM datasets: ADaMIG 1.3 §3.3, every subject of an analysis dataset
    is in ADSL). One failure per unknown subject, at its first record."""
    frame = submission.get(name)
    reference = submission.get(str(rule.params["dataset"]))
    if frame is None or reference is None or USUBJID not in frame.columns or USUBJID not in reference.columns:
        return no_failures()
    subjects = _text(frame[USUBJID])
    known = pc.unique(_text(reference[USUBJID]).drop_null())
    unknown = _bools(pc.is_valid(subjects)) & ~_bools(pc.is_in(subjects, value_set=known))
    template = f"USUBJID {{value}} is not in {rule.params['dataset']} ({{count}} record{{s}})"
    return _distinct_failures(subjects, unknown, USUBJID, template)


@check("adam_start_not_after_end")
def check_start_not_after_end(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """``params.start`` is not after ``params.end`` on a record where both are populated (e.g. TRTSDT
    <= TRTEDT, ADaMIG 1.3 §3.2: first and last exposure to treatment)."""
    frame = submission.get(name)
    start, end = str(rule.params["start"]), str(rule.params["end"])
    if frame is None or not {start, end} <= set(frame.columns):
        return no_failures()
    first = pd.to_numeric(frame[start], errors="coerce")
    last = pd.to_numeric(frame[end], errors="coerce")
    later = (first > last).to_numpy(dtype=bool)
    return failures_where(later, variable=start, message=f"{start} is after {end}")


# --- flags -----------------------------------------------------------------------------------------


def _selected_variables(
    selection: Mapping[str, Any], labels: Mapping[str, str], columns: Sequence[str]
) -> set[str]:
    """The variables a selection names: ``pattern`` (a regular expression matching the whole name),
    ``variables`` (names) and ``label_contains`` (text of the label, any case)."""
    pattern = re.compile(str(selection.get("pattern", "(?!)")))
    listed = set(selection.get("variables", ()))
    label_part = str(selection.get("label_contains", "")).lower()
    return {
        c
        for c in columns
        if pattern.fullmatch(c) or c in listed or (label_part and label_part in labels.get(c, ""))
    }


def _flag_variables(submission: Submission, rule: RuleDef, name: str, columns: Sequence[str]) -> list[str]:
    """The flag variables a flag rule judges, in dataset order: those its params select, less those of
    ``params.except`` (flags a stricter rule judges, so that a bad value is reported once)."""
    meta = submission.metadata.get(name)
    labels = {v: str(m.get("label") or "").lower() for v, m in meta.variables.items()} if meta else {}
    chosen = _selected_variables(rule.params, labels, columns)
    chosen -= _selected_variables(rule.params.get("except", {}), labels, columns)
    return [c for c in columns if c in chosen]


@check("adam_flag_values")
def check_flag_values(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Flag variables hold only ``params.allowed`` values, or null when ``params.allow_null`` (ADaMIG 1.3
    §3.1.4, Flag Variable Conventions: subject-level population flags Y/N and never null; record-level
    flags such as ABLFL, ANLzzFL, *RFL, *PFL Y or null; other *FL flags Y, N or null). One failure per
    distinct bad value of each flag, at its first record."""
    frame = submission.get(name)
    if frame is None:
        return no_failures()
    allowed = pa.array(list(rule.params.get("allowed", ("Y", "N"))), pa.large_string())
    allow_null = bool(rule.params.get("allow_null", True))
    shown = "/".join(allowed.to_pylist()) + (" or null" if allow_null else "")
    parts = []
    for variable in _flag_variables(submission, rule, name, [str(c) for c in frame.columns]):
        values = _text(frame[variable])
        present = _bools(pc.is_valid(values))
        bad = present & ~_bools(pc.is_in(values, value_set=allowed))
        if not allow_null:
            bad |= ~present
        template = f"{variable} is {{quoted}}; allowed: {shown} ({{count}} record{{s}})"
        parts.append(_distinct_failures(values, bad, variable, template))
    return _concat(parts)


# --- BDS parameters --------------------------------------------------------------------------------


@check("adam_one_to_one")
def check_one_to_one(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """``params.code`` and ``params.decode`` are one to one within the dataset (PARAMCD ↔ PARAM,
    ADaMIG 1.3, BDS analysis parameter variables, PARAMCD). One failure per pair involved in a conflict, at its first record."""
    frame = submission.get(name)
    code, decode = str(rule.params["code"]), str(rule.params["decode"])
    if frame is None or not {code, decode} <= set(frame.columns):
        return no_failures()
    table = pa.table(
        {"code": _text(frame[code]), "decode": _text(frame[decode]), "row": pa.array(np.arange(len(frame)))}
    )
    pairs = table.group_by(["code", "decode"]).aggregate([("row", "min")]).to_pandas().dropna()
    conflict = pairs["code"].duplicated(keep=False) | pairs["decode"].duplicated(keep=False)
    hits = pairs[conflict].sort_values("row_min")
    if hits.empty:
        return no_failures()
    decodes = hits.groupby("code")["decode"].agg(lambda s: ", ".join(sorted(s)))
    codes = hits.groupby("decode")["code"].agg(lambda s: ", ".join(sorted(s)))
    messages = [
        f"{code} {c} ↔ {decode} {d} is not one to one ({code} {c}: {decode} {decodes[c]}; "
        f"{decode} {d}: {code} {codes[d]})"
        for c, d in zip(hits["code"], hits["decode"], strict=True)
    ]
    return failures_at(
        hits["row_min"].to_numpy(), variable=code, message=messages, value=hits["code"].tolist()
    )


@check("adam_value_length")
def check_value_length(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Values of ``params.variable`` have at most ``params.max`` characters (ADaMIG 1.3, BDS analysis parameter variables:
    PARAMCD at most 8, PARAM at most 200). One failure per distinct value, at its first record."""
    frame = submission.get(name)
    variable, limit = str(rule.params["variable"]), int(rule.params["max"])
    if frame is None or variable not in frame.columns:
        return no_failures()
    values = _text(frame[variable])
    long = _bools(pc.greater(pc.utf8_length(values), limit))
    template = f"{variable} {{quoted}} has more than {limit} characters ({{count}} record{{s}})"
    return _distinct_failures(values, long, variable, template)


@check("adam_value_pattern")
def check_value_pattern(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Values of ``params.variable`` match ``params.pattern`` (ADaMIG 1.3, BDS analysis parameter variables: PARAMCD starts with a
    letter and holds only letters, digits and underscores). One failure per distinct value."""
    frame = submission.get(name)
    variable, pattern = str(rule.params["variable"]), str(rule.params["pattern"])
    if frame is None or variable not in frame.columns:
        return no_failures()
    values = _text(frame[variable])
    ok = pc.fill_null(pc.match_substring_regex(values, f"^(?:{pattern})$"), True)
    template = f"{variable} {{quoted}} does not match {pattern} ({{count}} record{{s}})"
    return _distinct_failures(values, ~_bools(ok), variable, template)


@check("adam_censor_values")
def check_censor_values(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """CNSR is 0 (event) or a positive integer (censoring reason) (ADaMIG 1.3, BDS time-to-event
    variables: "0 as an event indicator and positive integers as censoring indicators")."""
    frame = submission.get(name)
    if frame is None or "CNSR" not in frame.columns:
        return no_failures()
    values = pd.to_numeric(frame["CNSR"], errors="coerce")
    bad = (frame["CNSR"].notna() & (values.isna() | (values < 0) | (values % 1 != 0))).to_numpy(dtype=bool)
    return failures_where(bad, variable="CNSR")


@check("adam_not_negative")
def check_not_negative(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """``params.variable`` is not negative in a dataset holding ``params.when_present`` (AVAL of a
    time-to-event dataset is a time since the origin, ADaMIG 1.3 BDS time-to-event)."""
    frame = submission.get(name)
    variable, marker = str(rule.params["variable"]), str(rule.params["when_present"])
    if frame is None or not {variable, marker} <= set(frame.columns):
        return no_failures()
    negative = (pd.to_numeric(frame[variable], errors="coerce") < 0).to_numpy(dtype=bool)
    return failures_where(negative, variable=variable)


@check("adam_one_baseline")
def check_one_baseline(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """At most one record per USUBJID, PARAMCD (and BASETYPE when present) has ABLFL = "Y" (ADaMIG 1.3,
    BDS indicator variables, ABLFL: the baseline record for each subject, parameter and baseline type). Every flagged
    record after the first of its group fails; only the flagged records are grouped."""
    frame = submission.get(name)
    keys = [USUBJID, "PARAMCD", *(["BASETYPE"] if frame is not None and "BASETYPE" in frame.columns else [])]
    if frame is None or not {*keys, "ABLFL"} <= set(frame.columns):
        return no_failures()
    flagged = np.flatnonzero(_bools(pc.equal(_text(frame["ABLFL"]), "Y")))
    index = pa.array(flagged)
    groups = pd.DataFrame({k: _text(frame[k]).take(index).to_pylist() for k in keys})
    repeated = flagged[groups.duplicated().to_numpy(dtype=bool)]
    message = f"more than one baseline record (ABLFL = Y) per {', '.join(keys)}"
    return failures_at(repeated, variable="ABLFL", message=message)


@check("adam_analysis_value_present")
def check_analysis_value_present(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """A BDS record has AVAL or AVALC unless DTYPE says how it was derived (ADaMIG 1.3, BDS analysis parameter variables: AVAL and
    AVALC describe PARAM, and either may be null on a record; DTYPE marks derived records, "required to
    be populated even if AVAL and AVALC are null on the derived record"). Listed for review."""
    frame = submission.get(name)
    if frame is None or "PARAMCD" not in frame.columns or not {"AVAL", "AVALC"} & set(frame.columns):
        return no_failures()
    empty = np.ones(len(frame), dtype=bool)
    for column in ("AVAL", "AVALC", "DTYPE"):
        if column in frame.columns:
            empty &= ~_present(frame[column])
    return failures_where(
        empty, variable="PARAMCD", message="neither AVAL nor AVALC is populated and DTYPE is null"
    )


# --- traceability ----------------------------------------------------------------------------------


def _sources(frame: pd.DataFrame) -> pa.Array:
    """SRCDOM of each record, upper case, null where missing."""
    return pc.utf8_upper(_text(frame["SRCDOM"]))


def _source_names(sources: pa.Array) -> list[str]:
    return sorted(str(s) for s in pc.unique(sources.drop_null()).to_pylist())


@check("adam_source_dataset")
def check_source_dataset(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """SRCDOM names a dataset of the submission (ADaMIG 1.3, BDS datapoint traceability variables, SRCDOM: the SDTM domain or ADaM
    dataset the analysis value comes from). One failure per distinct unknown name."""
    frame = submission.get(name)
    if frame is None or "SRCDOM" not in frame.columns:
        return no_failures()
    sources = _sources(frame)
    known = pa.array(sorted(submission.datasets), pa.large_string())
    unknown = _bools(pc.is_valid(sources)) & ~_bools(pc.is_in(sources, value_set=known))
    template = "SRCDOM {value} is not a dataset of the submission ({count} record{s})"
    return _distinct_failures(sources, unknown, "SRCDOM", template)


def _qnams(submission: Submission, domain: str) -> set[str]:
    """The QNAMs of SUPP<domain> (SRCVAR holds a QNAM when the source is a supplemental qualifier)."""
    supp = submission.get(f"SUPP{domain}")
    if supp is None or "QNAM" not in supp.columns:
        return set()
    return {str(q).upper() for q in pc.unique(_text(supp["QNAM"]).drop_null()).to_pylist()}


@check("adam_source_variable")
def check_source_variable(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """SRCVAR is a variable of the dataset SRCDOM names, or a QNAM of its SUPP-- (ADaMIG 1.3,
    BDS datapoint traceability variables, SRCVAR). One failure per distinct (SRCDOM, SRCVAR), at its first record."""
    frame = submission.get(name)
    if frame is None or not {"SRCDOM", "SRCVAR"} <= set(frame.columns):
        return no_failures()
    sources = _sources(frame)
    variables = pc.utf8_upper(_text(frame["SRCVAR"]))
    bad = np.zeros(len(frame), dtype=bool)
    for domain in _source_names(sources):
        source = submission.get(domain)
        if source is None:
            continue
        known = pa.array(sorted({str(c).upper() for c in source.columns} | _qnams(submission, domain)))
        unknown = _bools(pc.is_valid(variables)) & ~_bools(pc.is_in(variables, value_set=known))
        bad |= _bools(pc.equal(sources, domain)) & unknown
    pairs = pc.binary_join_element_wise(sources, variables, pa.scalar(".", pa.large_string()))
    return _distinct_failures(
        pairs, bad, "SRCVAR", "{value} is not a variable of the source dataset ({count} record{s})"
    )


def _sequence_variable(submission: Submission, domain: str) -> str:
    """The record number variable of a source dataset: ASEQ for ADaM, --SEQ for SDTM (ADaMIG 1.3,
    BDS datapoint traceability variables, SRCSEQ)."""
    return "ASEQ" if submission.standards.get(domain) == ADAM else f"{domain}SEQ"


def _subject_codes(submission: Submission, name: str) -> tuple[np.ndarray, pa.Array]:
    """USUBJID of a dataset as (a code per record, -1 where missing; the distinct subjects), hashed once
    per validation run however many rules and source datasets use it."""

    def encode() -> tuple[np.ndarray, pa.Array]:
        encoded = pc.dictionary_encode(_text(submission.datasets[name][USUBJID]))
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, encoded.dictionary

    return submission.memo(("usubjid-codes", name), encode)


def _record_keys(positions: np.ndarray, sequence: pd.Series) -> np.ndarray:
    """One int64 key per record for (subject position, sequence number); -1 where the subject is unknown
    or the number is missing or not a whole number in [0, 2**31) (such a record matches nothing)."""
    number = pd.to_numeric(sequence, errors="coerce").to_numpy(dtype=float)
    whole = ~np.isnan(number) & (number % 1 == 0) & (number >= 0) & (number < 2**31)
    keys = (positions << 31) + np.where(whole, number, 0).astype(np.int64)
    return np.where((positions >= 0) & whole, keys, -1)


@check("adam_source_record")
def check_source_record(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """USUBJID and SRCSEQ identify a record of the dataset SRCDOM names (its --SEQ, or ASEQ for an ADaM
    source; ADaMIG 1.3, BDS datapoint traceability variables, SRCSEQ). Records are joined on integer keys
    (subject code, sequence number): each subject text is hashed once, not once per record and source."""
    frame = submission.get(name)
    if frame is None or not {"SRCDOM", "SRCSEQ", USUBJID} <= set(frame.columns):
        return no_failures()
    sources = _sources(frame)
    codes, subjects = _subject_codes(submission, name)
    given = frame["SRCSEQ"].notna().to_numpy(dtype=bool)
    bad = np.zeros(len(frame), dtype=bool)
    messages = np.full(len(frame), "", dtype=object)
    for domain in _source_names(sources):
        source = submission.get(domain)
        rows = _bools(pc.equal(sources, domain)) & given
        if source is None or not rows.any():
            continue
        seq = _sequence_variable(submission, domain)
        if seq not in source.columns or USUBJID not in source.columns:
            bad |= rows
            messages[rows] = f"SRCSEQ is given but {domain} has no {seq}"
            continue
        source_codes, source_subjects = _subject_codes(submission, domain.upper())
        existing = _record_keys(source_codes, source[seq])
        in_source = pc.index_in(subjects, value_set=source_subjects).fill_null(-1)
        in_source = np.append(in_source.to_numpy(zero_copy_only=False).astype(np.int64), -1)
        at = np.flatnonzero(rows)
        wanted = _record_keys(in_source[codes[at]], frame["SRCSEQ"].iloc[at])
        found = _bools(pc.is_in(pa.array(wanted), value_set=pc.unique(pa.array(existing[existing >= 0]))))
        missing = at[(wanted < 0) | ~found]
        bad[missing] = True
        messages[missing] = f"no {domain} record with this USUBJID and {seq} = SRCSEQ"
    positions = np.flatnonzero(bad)
    return failures_at(positions, variable="SRCSEQ", message=messages[positions].tolist())


# --- ADaMIG metadata -------------------------------------------------------------------------------


def adam_structure(name: str, columns: Iterable[str]) -> str | None:
    """The ADaMIG metadata structure a dataset follows: ADSL by name; TTE when it has PARAMCD and CNSR;
    BDS when it has PARAMCD, PARAM or AVAL; OCCDS for ADAE (the OCCDS metadata shipped is ADaM ADAE
    v1.0); None otherwise."""
    names = set(columns)
    if name == ADSL:
        return "ADSL"
    if {"PARAMCD", "CNSR"} <= names:
        return "TTE"
    if names & {"PARAMCD", "PARAM", "AVAL"}:
        return "BDS"
    if name == "ADAE":
        return "OCCDS"
    return None


def _name_pattern(variable: str) -> re.Pattern[str]:
    """An ADaMIG variable name with its placeholders as a regular expression (TRTxxP → TRT(\\d\\d)P)."""
    parts, position = [], 0
    for match in _PLACEHOLDER_RE.finditer(variable):
        parts += [re.escape(variable[position : match.start()]), _PLACEHOLDERS[match.group()]]
        position = match.end()
    parts.append(re.escape(variable[position:]))
    return re.compile("".join(parts))


@cache
def _ig_variables(structure: str) -> tuple[tuple[re.Pattern[str], ig.IGVariable], ...]:
    """(name pattern, IG variable) of a structure, its own variables first, then the ADSL ones a
    dataset may copy; the generic ``*DT`` style entries are left out."""
    own = ig.adamig_structure_variables(structure)
    copied = ig.adamig_structure_variables("ADSL") if structure != "ADSL" else ()
    return tuple((_name_pattern(v.name), v) for v in (*own, *copied) if not v.name.startswith("*"))


def _ig_match(structure: str, variable: str) -> tuple[ig.IGVariable, re.Match[str]] | None:
    for pattern, meta in _ig_variables(structure):
        match = pattern.fullmatch(variable)
        if match:
            return meta, match
    return None


@check("adam_required_variables")
def check_required_variables(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The ADaMIG 1.3 variables of core "Req" for the dataset's structure are present (a placeholder name
    such as TRTxxP is present when any TRTnnP is), and of each ``params.any_of[structure]`` group at
    least one (BDS: AVAL or AVALC, ADaMIG 1.3, BDS analysis parameter variables). One dataset-level failure per missing variable."""
    frame = submission.get(name)
    structure = adam_structure(name, frame.columns) if frame is not None else None
    if frame is None or structure is None:
        return no_failures()
    columns = [str(c) for c in frame.columns]
    parts = []
    for variable in ig.adamig_structure_variables(structure):
        pattern = _name_pattern(variable.name)
        if variable.core == "Req" and not any(pattern.fullmatch(c) for c in columns):
            parts.append(
                dataset_failure(
                    f"{variable.name} is required in {structure} (ADaMIG 1.3) but missing",
                    variable=variable.name,
                )
            )
    for group in rule.params.get("any_of", {}).get(structure, ()):
        if not set(group) & set(columns):
            parts.append(
                dataset_failure(
                    f"one of {', '.join(group)} is required in {structure} (ADaMIG 1.3) but none is present"
                )
            )
    return _concat(parts)


def _ig_label(meta: ig.IGVariable, match: re.Match[str]) -> str:
    """The IG label with the placeholders of the name filled in ("Planned Treatment for Period 01")."""
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    return re.sub(r"\b(xx|zz|y|w)\b", lambda m: groups.get(m.group(1), m.group(1)), meta.label)


@check("adam_ig_labels")
def check_ig_labels(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The label of a standard ADaMIG 1.3 variable is the IG label (placeholders filled in; for the
    variables in ``params.extendable``, such as ANLzzFL, the IG allows added text after it)."""
    frame = submission.get(name)
    meta = submission.metadata.get(name)
    structure = adam_structure(name, frame.columns) if frame is not None else None
    if frame is None or meta is None or structure is None:
        return no_failures()
    extendable = set(rule.params.get("extendable", ()))
    parts = []
    for variable, attributes in meta.variables.items():
        found = _ig_match(structure, variable)
        if found is None:
            continue
        expected = _ig_label(*found)
        label = str(attributes.get("label") or "")
        ok = label.startswith(expected) if found[0].name in extendable else label == expected
        if not ok:
            parts.append(
                dataset_failure(
                    f"{variable} label {label!r}, ADaMIG 1.3 label {expected!r}",
                    variable=variable,
                    value=label,
                )
            )
    return _concat(parts)
