"""The vendored Define-XML 2.1 XSD set and Dataset-JSON 1.1 JSON schemas, and validators built on them.

* Define-XML 2.1.10 (CDISC release package): entry point ``cdisc-define-2.1/define2-1-0.xsd``; a
  define.xml carrying Analysis Results Metadata validates against ``cdisc-arm-1.0/arm1-0-0.xsd``, which
  redefines the Define-XML schema. Every import resolves inside the vendored folder, and parsing never
  touches the network or expands entities.
* Dataset-JSON 1.1 (cdisc-org/DataExchange-DatasetJson, MIT): ``dataset.schema.json`` (JSON Schema
  draft 2019-09). The upstream NDJSON schema (``dataset-ndjson-schema.json``, UTF-16) is vendored as
  released but is not usable as is (its ``$ref`` to ``#/$defs/Column`` points nowhere); validate NDJSON by
  assembling the metadata line and the rows into one Dataset-JSON object instead.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused
from lxml import etree

from cdisc168.standards.files import SCHEMAS_DIR

DEFINE_XML_SCHEMA_DIR = SCHEMAS_DIR / "define-xml-2.1"
DEFINE_XML_XSD = DEFINE_XML_SCHEMA_DIR / "cdisc-define-2.1" / "define2-1-0.xsd"
DEFINE_XML_ARM_XSD = DEFINE_XML_SCHEMA_DIR / "cdisc-arm-1.0" / "arm1-0-0.xsd"
DATASET_JSON_SCHEMA_DIR = SCHEMAS_DIR / "dataset-json-1.1"
DATASET_JSON_SCHEMA = DATASET_JSON_SCHEMA_DIR / "dataset.schema.json"
DATASET_NDJSON_SCHEMA = DATASET_JSON_SCHEMA_DIR / "dataset-ndjson-schema.json"


def safe_xml_parser() -> etree.XMLParser:
    """An lxml parser that neither resolves entities nor loads DTDs nor reads from the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class UnsafeXmlError(ValueError):
    """An XML document declares a DTD or entities (entity expansion, external references): refused."""


def parse_xml(source: Path | bytes) -> etree._ElementTree:
    """Parse an XML file or bytes that may come from anywhere (a define.xml of another sponsor).

    defusedxml first refuses any DTD, entity declaration or external reference (billion laughs, XXE), then
    lxml parses with :func:`safe_xml_parser` (no entity resolution, no network) for XSD and XSLT use; a
    file keeps its path as the document URL. Raises :class:`UnsafeXmlError`, ``etree.XMLSyntaxError``
    (not well-formed) or ``OSError`` (unreadable).
    """
    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        defused.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXmlError(f"refused: {type(exc).__name__} ({exc})") from None
    except defused.ParseError:
        pass  # not well-formed: lxml below reports it with line and column
    base_url = str(source) if isinstance(source, Path) else None
    return etree.ElementTree(etree.fromstring(data, safe_xml_parser(), base_url=base_url))


def define_xml_xsd_path(*, arm: bool = False) -> Path:
    """Path of the vendored Define-XML 2.1 XSD entry point (``arm=True``: with Analysis Results Metadata)."""
    return DEFINE_XML_ARM_XSD if arm else DEFINE_XML_XSD


@cache
def define_xml_schema(*, arm: bool = False) -> etree.XMLSchema:
    """The Define-XML 2.1 schema loaded from the vendored XSD set (cached)."""
    path = define_xml_xsd_path(arm=arm)
    return etree.XMLSchema(etree.parse(str(path), safe_xml_parser()))


def validate_define_xml(document: Path | str | etree._ElementTree, *, arm: bool = False) -> list[str]:
    """Validate a define.xml against the Define-XML 2.1 XSD; return the error messages (empty = valid)."""
    tree = (
        document
        if isinstance(document, etree._ElementTree)
        else etree.parse(str(document), safe_xml_parser())
    )
    schema = define_xml_schema(arm=arm)
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def dataset_json_schema_path(*, ndjson: bool = False) -> Path:
    """Path of the vendored Dataset-JSON 1.1 JSON schema (``ndjson=True``: the upstream NDJSON schema)."""
    return DATASET_NDJSON_SCHEMA if ndjson else DATASET_JSON_SCHEMA


@cache
def _dataset_json_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATASET_JSON_SCHEMA.read_text(encoding="utf-8"))
    return data


def dataset_json_schema() -> dict[str, Any]:
    """The Dataset-JSON 1.1 JSON schema as a dict (a copy; the cached one stays unchanged)."""
    return copy.deepcopy(_dataset_json_schema())


@cache
def dataset_json_validator() -> jsonschema.protocols.Validator:
    """A jsonschema validator for Dataset-JSON 1.1 (draft 2019-09, as the schema declares; cached)."""
    schema = _dataset_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def validate_dataset_json(document: dict[str, Any]) -> list[str]:
    """Validate a Dataset-JSON 1.1 object; return the error messages with their JSON paths (empty = valid)."""
    errors = sorted(dataset_json_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message}" for e in errors]
