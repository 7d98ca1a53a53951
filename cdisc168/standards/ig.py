"""SDTMIG v3.4 and ADaMIG v1.3 metadata shipped with the package, with cached lookups.

Sources: CDISC Library CSV exports (``scripts/build_standards.py``; provenance in
``data/SOURCES.json``).

SDTMIG variables are listed under the domain that uses them, with the prefix filled in (``AESEQ``,
``LBTESTCD``), never as ``--SEQ``; a variable a domain does not define is absent (SDTMIG 3.4 has no
``LBLLOQ``: only PC, IS, MS and GF define ``--LLOQ``). The supplemental qualifier datasets are described
once, as ``SUPPQUAL`` (SDTMIG 3.4 §8.4): asking for ``SUPPAE`` or any ``SUPP--`` returns that metadata.
RELREC, RELSPEC and RELSUB are listed under their own names (§8.2, §8.7, §8.8).

ADaM metadata covers ADSL and BDS (ADaMIG v1.3; ``tte_specific`` marks the time-to-event variables of
the BDS TIME-TO-EVENT subclass) and OCCDS (ADaM OCCDS v1.0, ADAE). ADaM variable names keep the IG's
placeholders (``TRTxxP``, ``ANLzzFL``, ``CRITy``, ``*DTF``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pandas as pd

from cdisc168.standards.files import (
    ADAMIG_STRUCTURES_FILE,
    ADAMIG_VARIABLES_FILE,
    SDTMIG_DATASETS_FILE,
    SDTMIG_VARIABLES_FILE,
    read_table,
)

SDTMIG_VERSION = "3.4"
ADAMIG_VERSION = "1.3"
SUPPQUAL = "SUPPQUAL"
ADAM_STRUCTURES: tuple[str, ...] = ("ADSL", "BDS", "TTE", "OCCDS")
_SUPP_RE = re.compile(r"^SUPP[A-Z][A-Z0-9]?$")


class IGLookupError(KeyError):
    """A dataset, structure or variable is not in the implementation guide metadata."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class IGVariable:
    """One variable of an SDTMIG dataset or ADaM structure.

    ``role`` is the SDTM variable role (empty for ADaM, which has variable sets instead);
    ``codelist_codes`` are the CT codelist C-codes the IG assigns (several for e.g. DSDECOD).
    """

    dataset: str
    order: int
    name: str
    label: str
    type: str
    role: str
    core: str
    codelist_codes: tuple[str, ...]
    described_value_domain: str
    value_list: tuple[str, ...]
    notes: str


@dataclass(frozen=True)
class IGDataset:
    """An SDTMIG dataset: observation class, label and structure (SDTMIG 3.4 dataset metadata)."""

    name: str
    observation_class: str
    label: str
    structure: str


@dataclass(frozen=True)
class ADaMStructure:
    """An ADaM data structure: class and subclass as Define-XML names them, description, notes."""

    name: str
    description: str
    adam_class: str
    subclass: str
    notes: str


def _codes(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(";") if p.strip())


@cache
def _sdtm_variables() -> pd.DataFrame:
    frame = read_table(SDTMIG_VARIABLES_FILE).copy()
    frame["order"] = frame["order"].astype("int64")
    return frame


@cache
def _adam_variables() -> pd.DataFrame:
    frame = read_table(ADAMIG_VARIABLES_FILE).copy()
    frame["order"] = frame["order"].astype("int64")
    frame["tte_specific"] = frame["tte_specific"].eq("Y")
    return frame


def sdtmig_dataset_name(domain: str) -> str:
    """The SDTMIG metadata name for a dataset: ``SUPPAE`` and every ``SUPP--`` map to SUPPQUAL."""
    return SUPPQUAL if _SUPP_RE.match(domain) else domain


def sdtmig_variables(domain: str | None = None) -> pd.DataFrame:
    """SDTMIG 3.4 variable metadata, for one domain (in IG order) or for all (``domain=None``).

    Columns: ig_version, class, dataset, order (int), variable, label, type (Char/Num),
    codelist_codes ("; "-separated C-codes), codelist_submission_values, described_value_domain,
    value_list, role, core (Req/Exp/Perm), cdisc_notes. ``domain`` may be ``SUPPxx`` (SUPPQUAL metadata).
    """
    frame = _sdtm_variables()
    if domain is None:
        return frame.copy(deep=False)
    name = sdtmig_dataset_name(domain)
    rows = frame[frame["dataset"] == name]
    if rows.empty:
        raise IGLookupError(f"SDTMIG {SDTMIG_VERSION}: no dataset {domain!r}")
    return rows.sort_values("order").reset_index(drop=True)


@cache
def _sdtm_variable_index() -> dict[str, tuple[IGVariable, ...]]:
    frame = _sdtm_variables()
    index: dict[str, list[IGVariable]] = {}
    for r in frame.itertuples(index=False):
        index.setdefault(r.dataset, []).append(
            IGVariable(
                dataset=r.dataset,
                order=int(r.order),
                name=r.variable,
                label=r.label,
                type=r.type,
                role=r.role,
                core=r.core,
                codelist_codes=_codes(r.codelist_codes),
                described_value_domain=r.described_value_domain,
                value_list=_codes(r.value_list),
                notes=r.cdisc_notes,
            )
        )
    return {k: tuple(sorted(v, key=lambda x: x.order)) for k, v in index.items()}


def sdtmig_domain_variables(domain: str) -> tuple[IGVariable, ...]:
    """The SDTMIG 3.4 variables of ``domain`` in IG order, as typed records (``SUPPxx`` → SUPPQUAL)."""
    found = _sdtm_variable_index().get(sdtmig_dataset_name(domain))
    if found is None:
        raise IGLookupError(f"SDTMIG {SDTMIG_VERSION}: no dataset {domain!r}")
    return found


def sdtmig_variable(domain: str, variable: str) -> IGVariable:
    """The SDTMIG 3.4 metadata of one variable of one domain (e.g. ``("AE", "AETERM")``)."""
    for v in sdtmig_domain_variables(domain):
        if v.name == variable:
            return v
    raise IGLookupError(f"SDTMIG {SDTMIG_VERSION}: {domain} has no variable {variable!r}")


def sdtmig_datasets() -> pd.DataFrame:
    """SDTMIG 3.4 dataset metadata: ig_version, class, dataset, label, structure (one row per dataset)."""
    return read_table(SDTMIG_DATASETS_FILE).copy(deep=False)


@cache
def _sdtm_dataset_index() -> dict[str, IGDataset]:
    return {
        r.dataset: IGDataset(name=r.dataset, observation_class=r[1], label=r.label, structure=r.structure)
        for r in read_table(SDTMIG_DATASETS_FILE).itertuples(index=False)
    }


def sdtmig_dataset(domain: str) -> IGDataset:
    """Class, label and structure of an SDTMIG 3.4 dataset (``SUPPxx`` → SUPPQUAL)."""
    try:
        return _sdtm_dataset_index()[sdtmig_dataset_name(domain)]
    except KeyError:
        raise IGLookupError(f"SDTMIG {SDTMIG_VERSION}: no dataset {domain!r}") from None


def _check_structure(structure: str) -> str:
    if structure not in ADAM_STRUCTURES:
        raise IGLookupError(f"ADaM structure must be one of {ADAM_STRUCTURES}, got {structure!r}")
    return structure


def adamig_variables(structure: str | None = None) -> pd.DataFrame:
    """ADaM variable metadata for one structure (in IG order) or for all (``structure=None``).

    ``structure``: ADSL; BDS (without the time-to-event-specific variables); TTE (BDS with them,
    ADaMIG 1.3 §3.3.9 / BDS TIME-TO-EVENT subclass); OCCDS (ADaM OCCDS v1.0, ADAE). Columns:
    ig_version, structure, data_structure_name, variable_set, order (int), variable, label, type,
    codelist_codes, codelist_submission_values, described_value_domain, value_list, core
    (Req/Cond/Perm), cdisc_notes, tte_specific (bool).
    """
    frame = _adam_variables()
    if structure is None:
        return frame.copy(deep=False)
    name = _check_structure(structure)
    if name == "TTE":
        rows = frame[frame["structure"] == "BDS"]
    elif name == "BDS":
        rows = frame[(frame["structure"] == "BDS") & ~frame["tte_specific"]]
    else:
        rows = frame[frame["structure"] == name]
    return rows.sort_values("order").reset_index(drop=True)


def adamig_structure_variables(structure: str) -> tuple[IGVariable, ...]:
    """The ADaM variables of ``structure`` (see :func:`adamig_variables`) as typed records."""
    return tuple(
        IGVariable(
            dataset=structure,
            order=int(r.order),
            name=r.variable,
            label=r.label,
            type=r.type,
            role="",
            core=r.core,
            codelist_codes=_codes(r.codelist_codes),
            described_value_domain=r.described_value_domain,
            value_list=_codes(r.value_list),
            notes=r.cdisc_notes,
        )
        for r in adamig_variables(structure).itertuples(index=False)
    )


def adamig_variable(structure: str, variable: str) -> IGVariable:
    """The ADaM metadata of one variable of one structure (e.g. ``("ADSL", "TRTSDT")``)."""
    for v in adamig_structure_variables(structure):
        if v.name == variable:
            return v
    raise IGLookupError(f"ADaM {structure} has no variable {variable!r}")


def adamig_structures() -> pd.DataFrame:
    """ADaMIG 1.3 data structures (ADSL, BDS, TTE): name, description, class, subclass, notes."""
    return read_table(ADAMIG_STRUCTURES_FILE).copy(deep=False)


def adamig_structure(name: str) -> ADaMStructure:
    """Class and subclass of an ADaMIG 1.3 data structure (ADSL, BDS or TTE)."""
    for r in read_table(ADAMIG_STRUCTURES_FILE).itertuples(index=False):
        if r[1] == name:
            return ADaMStructure(name=r[1], description=r[2], adam_class=r[3], subclass=r[4], notes=r[5])
    raise IGLookupError(f"ADaMIG {ADAMIG_VERSION}: no data structure {name!r}")
