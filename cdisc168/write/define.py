"""Rendering define.xml 2.1 from a :class:`~cdisc168.write.define_model.DefineModel` with jinja2.

The templates live in the study's ``define/`` folder (``define.xml.j2`` and its ``define_*.xml.j2``
includes). Autoescaping is always on, so a label or term holding ``<``, ``&`` or quotes stays text.
The output is deterministic: the model carries no wall-clock time (CreationDateTime is the data cut).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from lxml import etree

from cdisc168.standards.schemas import UnsafeXmlError, parse_xml, validate_define_xml
from cdisc168.write.define_model import DefineModel

TEMPLATE = "define.xml.j2"


class DefineRenderError(ValueError):
    """The define.xml templates are missing or broken, or the rendered XML is not well formed."""


def _environment(template_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_define(model: DefineModel, template_dir: Path) -> bytes:
    """define.xml as UTF-8 bytes, rendered from ``template_dir/define.xml.j2`` (well-formedness checked)."""
    try:
        template = _environment(Path(template_dir)).get_template(TEMPLATE)
        text = template.render(model=model)
    except jinja2.TemplateNotFound as exc:
        raise DefineRenderError(f"{template_dir}: define.xml template {exc.name!r} not found") from exc
    except jinja2.TemplateError as exc:
        raise DefineRenderError(f"{template_dir}/{TEMPLATE}: {exc}") from exc
    if not text.endswith("\n"):
        text += "\n"
    data = text.encode("utf-8")
    parse_define(data)
    return data


def parse_define(data: bytes) -> etree._ElementTree:
    """Parse define.xml bytes safely (no entities, no DTD, no network)."""
    try:
        return parse_xml(data)
    except (etree.XMLSyntaxError, UnsafeXmlError) as exc:
        raise DefineRenderError(f"define.xml is not well-formed XML: {exc}") from exc


def validate_define(data: bytes) -> list[str]:
    """XSD errors of rendered define.xml bytes against the Define-XML 2.1 schema (empty = valid)."""
    return validate_define_xml(parse_define(data))
