"""Object identifiers shared by define.xml and Dataset-JSON, so that the two always point at each other.

Define-XML 2.1 §2.2: every ``OID`` is unique within the document and referenced by ``*OID`` attributes;
Dataset-JSON 1.1: ``studyOID``, ``metaDataVersionOID``, ``itemGroupOID`` and each column's ``itemOID``
must be the ones of the define.xml the dataset is described by. One function per kind of object, one
naming scheme (``IG.AE``, ``IT.AE.AETERM``, ``VL.LB.LBORRES``, ``WC.LB.LBTESTCD.ALB``, ``CL.SEX`` …).

Values taken from the data (test codes, QNAMs, PARAMCDs) are made safe for an OID by
:func:`oid_part`; ``def:leaf`` IDs are ``xs:ID`` (an NCName), which the same function guarantees.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

SDTM = "SDTM"
ADAM = "ADaM"


def oid_part(value: object) -> str:
    """``value`` as an OID component: letters, digits, ``.``, ``_`` and ``-``; anything else → ``_``."""
    text = _UNSAFE.sub("_", str(value))
    return text or "_"


def study_oid(studyid: str) -> str:
    return f"STDY.{oid_part(studyid)}"


def metadata_version_oid(studyid: str, model: str) -> str:
    """MetaDataVersion OID of the SDTM or ADaM define.xml (``model`` = :data:`SDTM` or :data:`ADAM`)."""
    return f"MDV.{oid_part(studyid)}.{model}"


def define_file_oid(studyid: str, model: str) -> str:
    return f"DEF.{oid_part(studyid)}.{model}"


def dataset_json_file_oid(studyid: str, dataset: str) -> str:
    return f"DSJ.{oid_part(studyid)}.{oid_part(dataset)}"


def item_group_oid(dataset: str) -> str:
    return f"IG.{oid_part(dataset)}"


def item_oid(dataset: str, variable: str) -> str:
    return f"IT.{oid_part(dataset)}.{oid_part(variable)}"


def value_item_oid(dataset: str, variable: str, *values: object) -> str:
    """ItemDef OID of a value-level item: ``IT.LB.LBORRES.ALB`` (QNAM / PARAMCD / --TESTCD values)."""
    return ".".join([item_oid(dataset, variable), *(oid_part(v) for v in values)])


def value_list_oid(dataset: str, variable: str) -> str:
    return f"VL.{oid_part(dataset)}.{oid_part(variable)}"


def where_clause_oid(dataset: str, variable: str, *values: object) -> str:
    return ".".join([f"WC.{oid_part(dataset)}.{oid_part(variable)}", *(oid_part(v) for v in values)])


def codelist_oid(codelist_id: str) -> str:
    return f"CL.{oid_part(codelist_id)}"


def method_oid(*parts: object) -> str:
    return ".".join(["MT", *(oid_part(p) for p in parts)])


def comment_oid(*parts: object) -> str:
    return ".".join(["COM", *(oid_part(p) for p in parts)])


def standard_oid(*parts: object) -> str:
    return ".".join(["STD", *(oid_part(p) for p in parts)])


def leaf_id(name: str) -> str:
    """``def:leaf`` ID of a dataset file or supplemental document (an ``xs:ID``)."""
    return f"LF.{oid_part(name)}"
