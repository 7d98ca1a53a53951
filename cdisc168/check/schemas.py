"""pandera schemas of the SDTM datasets, generated from the dataset specs and the SDTMIG 3.4 metadata.

No schema is written by hand. :func:`dataset_plan` reads a :class:`~cdisc168.spec.DatasetSpec` (whose
variables carry the IG type and core), the study terminology and the IG's ISO 8601 value domains, and
lists the checks each variable and record must pass; :func:`supp_plan` does the same for SUPP-- from
the SUPPQUAL metadata and the spec's ``supp:`` entries. :func:`dataset_schema` and :func:`supp_schema`
return them as ``pandera.pandas.DataFrameSchema``. :func:`check_sdtm` validates every dataset of an
:class:`~cdisc168.sdtm.build.SdtmResult` lazily and returns the findings
(:mod:`cdisc168.check.failures`; rules in :data:`~cdisc168.check.plan.SCHEMA_RULES`).

The schema is the last line of defence on the final datasets, independent of the mapping engine. A
problem is reported once: the first rule of :data:`~cdisc168.check.plan.RULE_ORDER` that rejects a value
reports it, and what an earlier layer reported at the record's raw source (the engine's SD-CT, the raw
contract's RAW-REPEAT) is not reported again.

Which variables take a codelist: the spec's ``codelist:``; else, when every rule that produces the
variable is a ``ct`` rule (its own, each ``set:`` override, each ``case`` branch), their codelists. A
variable mapped by ``ct`` from one source and by a constant or a copy from another (DS DSTERM) is
controlled only if the spec says so with ``codelist:``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from cdisc168.check import predicates as p
from cdisc168.check.failures import EarlierFindings, check_dataset
from cdisc168.check.plan import SCHEMA_RULES, RecordCheck, SchemaPlan, ValueCheck, VariablePlan
from cdisc168.findings import Finding, Findings
from cdisc168.sdtm.build import SdtmResult
from cdisc168.spec import ORIGIN_TYPES, DatasetSpec, Rule, VariableSpec
from cdisc168.standards import ig
from cdisc168.standards.study_ct import StudyCT

MAX_CHAR_LENGTH = 200  # bytes: SAS V5 transport (SDTMIG 3.4 §4.5.3.2)
MAX_QLABEL_LENGTH = 40  # SDTMIG 3.4 §8.4: QLABEL cannot be longer than 40 characters
SUPP_PREFIX = "SUPP"
SUPP_KEYS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")


def _ct_rules(rule: Rule | None) -> list[Rule]:
    """The ``ct`` rules inside a rule (itself, or the branches of a ``case``)."""
    if rule is None:
        return []
    if rule.kind == "ct":
        return [rule]
    if rule.kind == "case":
        return [inner for _, inner in rule.params["branches"] if inner is not None and inner.kind == "ct"]
    return []


def _leaf_rules(rule: Rule) -> list[Rule]:
    """The rules that produce values: the branches of a ``case``, else the rule itself."""
    if rule.kind == "case":
        return [inner for _, inner in rule.params["branches"] if inner is not None]
    return [rule]


def _variable_rules(spec: DatasetSpec, variable: VariableSpec) -> list[Rule]:
    """The rules that produce the variable: each source's ``set:`` override, else the variable's rule."""
    rules = []
    for source in spec.sources or (None,):
        rule = source.overrides.get(variable.name) if source is not None else None
        rule = rule or variable.rule
        if rule is not None:
            rules.append(rule)
    return rules


def _rule_codelists(rules: Sequence[Rule]) -> tuple[str, ...]:
    """The codelists of ``rules`` when every value they produce comes from a ``ct`` rule, else ()."""
    leaves = [leaf for rule in rules for leaf in _leaf_rules(rule)]
    if not leaves or any(leaf.kind != "ct" for leaf in leaves):
        return ()
    return tuple(dict.fromkeys(str(leaf.params["codelist"]) for leaf in leaves))


def variable_codelists(spec: DatasetSpec, variable: VariableSpec) -> tuple[str, ...]:
    """The study codelists a variable's values must belong to (SDTMIG 3.4 §4.3): its ``codelist:``;
    else, when every rule producing it is a ``ct`` rule, their codelists; else none."""
    if variable.codelist:
        return (str(variable.codelist),)
    return _rule_codelists(_variable_rules(spec, variable))


def _allowed_values(ids: Sequence[str], study_ct: StudyCT) -> tuple[str, ...] | None:
    """The terms of the study codelists ``ids`` (union); None when one is an external dictionary
    (MedDRA, WHODrug, ISO 3166: the study file does not list their terms)."""
    values: list[str] = []
    for key in ids:
        codelist = study_ct.codelist(key)
        if codelist.external:
            return None
        values.extend(codelist.values)
    return tuple(dict.fromkeys(values))


def timing_format(domain: str, name: str) -> str | None:
    """``"dtc"``, ``"duration"`` or None: the ISO 8601 format a variable's values take.

    From the SDTMIG 3.4 "described value domain" of the variable ("ISO 8601 datetime or interval", "ISO
    8601 duration"); for a variable the IG does not list in this domain (a class variable), from its
    name: --DTC, or --DUR / --ELTM / --EVLINT (SDTMIG 3.4 §4.4.1, §4.4.3).
    """
    try:
        described = ig.sdtmig_variable(domain, name).described_value_domain
    except ig.IGLookupError:
        described = ""
    if described.startswith("ISO 8601 datetime"):
        return "dtc"
    if described.startswith("ISO 8601 duration"):
        return "duration"
    if name.endswith("DTC"):
        return "dtc"
    if name.endswith(("DUR", "ELTM", "EVLINT")):
        return "duration"
    return None


def _type_check(name: str, vtype: str) -> ValueCheck:
    if vtype == "Num":
        return ValueCheck("SD-SCHEMA-TYPE", f"{name} is Num but the value is not a number", p.compute_is_num)
    return ValueCheck("SD-SCHEMA-TYPE", f"{name} is Char but the value is not text", p.compute_is_char)


def _blank_check(name: str) -> ValueCheck:
    return ValueCheck("SD-SCHEMA-REQUIRED", f"{name} is required (core Req) but blank", p.compute_not_blank)


def _codelist_check(name: str, ids: Sequence[str], allowed: Sequence[str], study_ct: StudyCT) -> ValueCheck:
    extensible = any(study_ct.codelist(k).extensible for k in ids)
    hint = " (extensible: declare sponsor terms in mappings/terminology.yaml)" if extensible else ""
    return ValueCheck(
        "SD-SCHEMA-CT",
        f"{name} value is not a term of codelist {', '.join(ids)}{hint}",
        lambda s, a=tuple(allowed): p.compute_in_values(s, a),
    )


def _timing_check(name: str, kind: str) -> ValueCheck:
    if kind == "dtc":
        return ValueCheck(
            "SD-SCHEMA-ISO8601",
            f"{name} is not an ISO 8601 date/time YYYY[-MM[-DD[Thh:mm[:ss]]]] with a real calendar date "
            "(SDTMIG 3.4 §4.4.1, §4.4.2)",
            p.compute_is_dtc,
        )
    negative = not name.endswith("DUR")
    return ValueCheck(
        "SD-SCHEMA-ISO8601",
        f"{name} is not an ISO 8601 duration PnYnMnDTnHnMnS or PnW"
        + ("" if negative else ", without a minus sign")
        + " (SDTMIG 3.4 §4.4.3)",
        lambda s, n=negative: p.compute_is_duration(s, allow_negative=n),
    )


def _length_check(name: str, limit: int) -> ValueCheck:
    why = "the spec's length" if limit < MAX_CHAR_LENGTH else "SAS V5 transport; SDTMIG 3.4 §4.5.3.2"
    return ValueCheck(
        "SD-SCHEMA-LENGTH",
        f"{name} is longer than {limit} bytes ({why})",
        lambda s, n=limit: p.compute_max_length(s, n),
    )


def _identity_checks(
    name: str, dataset: str, studyid: str | None, subjects: Collection[str] | None
) -> list[ValueCheck]:
    """DOMAIN = the dataset, RDOMAIN of SUPP-- = the parent (SDTMIG 3.4 "Two-Character Domain
    Identifier", §8.4); STUDYID = the study; USUBJID a subject of DM (SDTMIG 3.4 DM: one record for
    every subject of the study)."""
    supp = dataset.startswith(SUPP_PREFIX) and name == "RDOMAIN"
    domain = dataset[len(SUPP_PREFIX) :] if supp else dataset
    if name == "DOMAIN" or supp:
        return [
            ValueCheck(
                "SD-SCHEMA-DOMAIN",
                f"{name} is not {domain} (the {'parent ' if name == 'RDOMAIN' else ''}dataset's name)",
                lambda s, d=domain: p.compute_equals(s, d),
            )
        ]
    if name == "STUDYID" and studyid is not None:
        return [
            ValueCheck(
                "SD-SCHEMA-STUDYID", f"STUDYID is not {studyid}", lambda s, v=studyid: p.compute_equals(s, v)
            )
        ]
    if name == "USUBJID" and subjects is not None and dataset != "DM":
        allowed = frozenset(subjects)
        return [
            ValueCheck(
                "SD-SCHEMA-USUBJID",
                "USUBJID is not a subject of DM",
                lambda s, a=allowed: p.compute_in_values(s, a),
            )
        ]
    return []


def _ct_sources(rules: Iterable[Rule]) -> frozenset[str]:
    return frozenset(str(r.params["from"]) for rule in rules for r in _ct_rules(rule))


def dataset_plan(
    spec: DatasetSpec,
    study_ct: StudyCT,
    *,
    studyid: str | None = None,
    subjects: Collection[str] | None = None,
) -> SchemaPlan:
    """The checks of a dataset, generated from its spec (variables with IG type and core, codelists,
    keys) and the SDTMIG 3.4 metadata (ISO 8601 value domains).

    Per variable: Req → not null and not blank (SDTMIG 3.4 core designations);
    type Char → text, Num → a number; DOMAIN = the dataset, STUDYID = ``studyid``, USUBJID one of
    ``subjects`` (when given); --SEQ a whole number >= 1; a codelist → one of its study terms (SDTMIG 3.4
    §4.3; extensible codelists accept only the terms terminology.yaml declares); --DTC → ISO 8601
    date/time, --DUR/--ELTM/--EVLINT → ISO 8601 duration; Char → at most 200 bytes (or the spec's
    ``length``). Per record: the natural key (the spec's ``keys``, SDTMIG 3.4 dataset metadata "Key
    Variables") is unique, and --SEQ is unique within USUBJID (SDTM v2.0: --SEQ ensures uniqueness of
    a subject's records within a domain).
    """
    seq = f"{spec.name}SEQ" if f"{spec.name}SEQ" in spec.variable_names else None
    plans = []
    for v in spec.variables:
        checks = [_type_check(v.name, v.type)]
        if v.core == "Req":
            checks.append(_blank_check(v.name))
        checks += _identity_checks(v.name, spec.name, studyid, subjects)
        if v.name == seq:
            checks.append(
                ValueCheck(
                    "SD-SCHEMA-SEQ", f"{v.name} is not a whole number >= 1", p.compute_is_positive_integer
                )
            )
        ids = variable_codelists(spec, v)
        allowed = _allowed_values(ids, study_ct) if ids else None
        if allowed is not None:
            checks.append(_codelist_check(v.name, ids, allowed, study_ct))
        kind = timing_format(spec.name, v.name) if v.type == "Char" else None
        if kind is not None:
            checks.append(_timing_check(v.name, kind))
        if v.type == "Char":
            checks.append(_length_check(v.name, min(v.length or MAX_CHAR_LENGTH, MAX_CHAR_LENGTH)))
        plans.append(
            VariablePlan(
                v.name,
                v.type,
                v.core == "Req",
                tuple(checks),
                description=f"{v.label} ({v.type}, {v.core}{', ' + ', '.join(ids) if ids else ''})",
            )
        )
    records = []
    if spec.keys:
        keys = tuple(spec.keys)
        records.append(
            RecordCheck(
                "SD-SCHEMA-KEY",
                f"the natural key ({', '.join(keys)}) repeats an earlier record",
                keys,
                ", ".join(keys),
                lambda f, k=keys: p.compute_first_of_key(f, k),
                unique=True,
            )
        )
    if seq is not None and "USUBJID" in spec.variable_names:
        by = (*(c for c in ("STUDYID", "USUBJID") if c in spec.variable_names), seq)
        records.append(
            RecordCheck(
                "SD-SCHEMA-SEQ",
                f"{seq} repeats an earlier record of the same subject",
                by,
                seq,
                lambda f, k=by, s=seq: p.compute_first_of_key(f, k, skip_missing=(s,)),
                unique=True,
            )
        )
    ct_sources = {v.name: _ct_sources(_variable_rules(spec, v)) for v in spec.variables}
    return SchemaPlan(spec.name, spec.label, tuple(plans), tuple(records), seq, ct_sources)


def supp_plan(
    spec: DatasetSpec,
    study_ct: StudyCT,
    *,
    studyid: str | None = None,
    subjects: Collection[str] | None = None,
) -> SchemaPlan:
    """The checks of SUPP-- of the dataset ``spec`` describes (SDTMIG 3.4 §8.4, SUPPQUAL metadata).

    The SUPPQUAL variables with their IG type and core (Req: STUDYID, RDOMAIN, USUBJID, QNAM, QLABEL,
    QVAL, QORIG); RDOMAIN = the parent dataset; QNAM a valid name; QLABEL at most 40 characters; QVAL at
    most 200 bytes; QORIG a Define-XML 2.1 origin type; QEVAL a term of its IG codelist (C78735) when the
    study terminology has it. Per record: QVAL of a QNAM whose ``supp:`` entry maps by ``ct`` is a term
    of that codelist, of a QNAM mapped by ``dtc`` (``duration``) ISO 8601; (STUDYID, RDOMAIN, USUBJID,
    IDVAR, IDVARVAL, QNAM) is unique.
    """
    name = f"{SUPP_PREFIX}{spec.name}"
    study_codes = {c.code: c for c in study_ct if c.code is not None}
    plans = []
    for v in ig.sdtmig_domain_variables(ig.SUPPQUAL):
        checks = [_type_check(v.name, v.type)]
        if v.core == "Req":
            checks.append(_blank_check(v.name))
        checks += _identity_checks(v.name, name, studyid, subjects)
        if v.name == "QNAM":
            checks.append(
                ValueCheck(
                    "SD-SCHEMA-QNAM",
                    "QNAM is not 1-8 letters, digits or _ that do not start with a digit (SDTMIG 3.4 §8.4)",
                    lambda s: p.compute_matches(s, p.QNAM_PATTERN),
                )
            )
        elif v.name == "QORIG":
            checks.append(
                ValueCheck(
                    "SD-SCHEMA-CT",
                    "QORIG is not a Define-XML 2.1 origin type",
                    lambda s: p.compute_in_values(s, ORIGIN_TYPES),
                )
            )
        elif v.name == "QEVAL":
            for codelist in (study_codes[c] for c in v.codelist_codes if c in study_codes):
                checks.append(_codelist_check(v.name, (codelist.id,), codelist.values, study_ct))
        if v.name == "QLABEL":
            checks.append(
                ValueCheck(
                    "SD-SCHEMA-LENGTH",
                    f"QLABEL is longer than {MAX_QLABEL_LENGTH} characters (SDTMIG 3.4 §8.4)",
                    lambda s: p.compute_max_length(s, MAX_QLABEL_LENGTH),
                )
            )
        elif v.type == "Char":
            checks.append(_length_check(v.name, MAX_CHAR_LENGTH))
        description = f"{v.label} ({v.type}, {v.core})"
        plans.append(VariablePlan(v.name, v.type, v.core == "Req", tuple(checks), description))
    records = []
    for entry in spec.supp:
        ids = _rule_codelists([entry.rule])
        allowed = _allowed_values(ids, study_ct) if ids else None
        if allowed is not None:
            records.append(
                RecordCheck(
                    "SD-SCHEMA-CT",
                    f"QVAL of {entry.qnam} is not a term of codelist {', '.join(ids)}",
                    ("QNAM", "QVAL"),
                    "QVAL",
                    lambda f, q=entry.qnam, a=allowed: _qval_passes(
                        f, q, lambda v: p.compute_in_values(v, a)
                    ),
                    group="QVAL",
                )
            )
        if entry.rule.kind in ("dtc", "duration"):
            check = _timing_check(f"QVAL of {entry.qnam}", "dtc" if entry.rule.kind == "dtc" else "duration")
            records.append(
                RecordCheck(
                    check.rule,
                    check.message,
                    ("QNAM", "QVAL"),
                    "QVAL",
                    lambda f, q=entry.qnam, t=check.test: _qval_passes(f, q, t),
                    group="QVAL",
                )
            )
    records.append(
        RecordCheck(
            "SD-SCHEMA-KEY",
            f"the natural key ({', '.join(SUPP_KEYS)}) repeats an earlier record (SDTMIG 3.4 §8.4)",
            SUPP_KEYS,
            ", ".join(SUPP_KEYS),
            lambda f: p.compute_first_of_key(f, SUPP_KEYS),
            unique=True,
        )
    )
    ct_sources = {e.qnam: _ct_sources([e.rule]) for e in spec.supp}
    label = f"Supplemental Qualifiers for {spec.name}"
    return SchemaPlan(name, label, tuple(plans), tuple(records), None, ct_sources)


def _qval_passes(frame: pd.DataFrame, qnam: str, test: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``test`` on the QVAL of the records of ``qnam``; the other records pass."""
    ok = np.ones(len(frame), dtype=bool)
    rows = (frame["QNAM"] == qnam).to_numpy(dtype=bool, na_value=False)
    if rows.any():
        ok[rows] = test(frame["QVAL"][rows]).to_numpy(dtype=bool)
    return pd.Series(ok, index=frame.index)


def dataset_schema(
    spec: DatasetSpec,
    study_ct: StudyCT,
    *,
    studyid: str | None = None,
    subjects: Collection[str] | None = None,
) -> pa.DataFrameSchema:
    """The pandera schema of a dataset, generated by :func:`dataset_plan` (see there for the checks)."""
    return dataset_plan(spec, study_ct, studyid=studyid, subjects=subjects).schema()


def supp_schema(
    spec: DatasetSpec,
    study_ct: StudyCT,
    *,
    studyid: str | None = None,
    subjects: Collection[str] | None = None,
) -> pa.DataFrameSchema:
    """The pandera schema of SUPP-- of ``spec``'s dataset, generated by :func:`supp_plan`."""
    return supp_plan(spec, study_ct, studyid=studyid, subjects=subjects).schema()


def study_identifier(result: SdtmResult) -> str | None:
    """The study's STUDYID as the data give it: the most frequent STUDYID of DM (else of every dataset)."""
    frames = [result.datasets["DM"]] if "DM" in result.datasets else list(result.datasets.values())
    columns = [f["STUDYID"].dropna().astype(str) for f in frames if "STUDYID" in f.columns]
    values = pd.concat(columns, ignore_index=True) if columns else pd.Series(dtype=str)
    return None if values.empty else str(values.value_counts().index[0])


def check_sdtm(
    result: SdtmResult,
    study_ct: StudyCT,
    *,
    studyid: str | None = None,
    skip_rules: Collection[str] = (),
    reported: Iterable[Finding] | None = None,
) -> Findings:
    """Check every dataset of ``result`` and its SUPP-- against the schema generated from its spec.

    ``studyid`` defaults to :func:`study_identifier`; USUBJID is checked against DM when DM is there.
    ``skip_rules`` leaves rules out (their checks do not run). ``reported`` are the findings of the
    earlier layers (default ``result.findings``; pass the raw findings too, as the build does): a
    problem they reported at the record's raw source is not reported again (``EARLIER_RULES``).
    Findings come dataset by dataset, in record order.
    """
    unknown = set(skip_rules) - set(SCHEMA_RULES)
    if unknown:
        raise ValueError(f"skip_rules: unknown rule ids {sorted(unknown)}; known: {list(SCHEMA_RULES)}")
    studyid = studyid if studyid is not None else study_identifier(result)
    dm = result.datasets.get("DM")
    subjects = frozenset(dm["USUBJID"].dropna().astype(str)) if dm is not None and "USUBJID" in dm else None
    earlier = EarlierFindings(result.findings if reported is None else reported)
    findings = Findings()
    for name, frame in result.datasets.items():
        parent = name[len(SUPP_PREFIX) :] if name.startswith(SUPP_PREFIX) else None
        if name in result.specs:
            plan = dataset_plan(result.specs[name], study_ct, studyid=studyid, subjects=subjects)
        elif parent in result.specs:
            plan = supp_plan(result.specs[parent], study_ct, studyid=studyid, subjects=subjects)
        else:
            raise ValueError(f"{name}: no spec describes this dataset")
        found = check_dataset(frame, plan.without(skip_rules), earlier)
        findings.extend(f for f in found if f.rule not in skip_rules)
    return findings
