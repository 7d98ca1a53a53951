"""define.html: a define.xml 2.1 rendered through the study's own XSLT 1.0 stylesheet.

Browsers apply the stylesheet named by ``<?xml-stylesheet?>`` themselves, but not every reviewer's
browser does (and none does for a file opened from some document viewers), so the package also ships the
same view pre-rendered. Both inputs are parsed without entity expansion, DTD loading or network access,
and the transform runs with every file and network access denied, so a define.xml can neither read local
files (``document()``) nor write any (``exsl:document``) while it is rendered.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from cdisc168.standards.schemas import UnsafeXmlError, parse_xml

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEFINE_NS = "http://www.cdisc.org/ns/def/v2.1"


class DefineHtmlError(ValueError):
    """A define.xml or stylesheet that cannot be rendered; the message names the file and the reason."""


def render_define_html(define_xml: bytes | Path, stylesheet: Path) -> bytes:
    """Render a Define-XML 2.1 document as HTML5 (UTF-8 bytes) with the XSLT 1.0 ``stylesheet``.

    ``define_xml`` is the document itself (bytes) or the path of a define.xml. The result depends only
    on the two inputs (no time stamp), so the same define.xml always gives the same bytes.
    Raises :class:`DefineHtmlError` naming the file if either input is not well-formed, the document is
    not Define-XML 2.1 (an ODM root whose MetaDataVersion has a ``def:DefineVersion`` 2.1.x), or the
    transform fails.
    """
    source = str(define_xml) if isinstance(define_xml, Path) else "define.xml (in memory)"
    document = _parse(define_xml, source)
    _check_define_21(document, source)
    transform = _load_stylesheet(stylesheet)
    try:
        result = transform(document)
    except etree.XSLTApplyError as exc:
        raise DefineHtmlError(
            f"{source}: rendering with {stylesheet} failed: {_log(transform.error_log, exc)}"
        ) from exc
    if result.getroot() is None:
        raise DefineHtmlError(f"{source}: rendering with {stylesheet} produced no HTML")
    return bytes(result)


def _parse(document: bytes | Path, source: str) -> etree._ElementTree:
    """Parse an XML file or bytes safely; a missing or malformed file is a :class:`DefineHtmlError`."""
    try:
        return parse_xml(document)
    except UnsafeXmlError as exc:
        raise DefineHtmlError(f"{source}: {exc}") from exc
    except OSError as exc:
        raise DefineHtmlError(f"{source}: cannot be read ({exc})") from exc
    except etree.XMLSyntaxError as exc:
        raise DefineHtmlError(f"{source}: not well-formed XML: {exc}") from exc


def _check_define_21(document: etree._ElementTree, source: str) -> None:
    """Define-XML 2.1 §2.3: root ``ODM`` (ODM 1.3 namespace), ``Study/MetaDataVersion`` with ``def:DefineVersion`` 2.1.x."""
    root = document.getroot()
    if root.tag != f"{{{ODM_NS}}}ODM":
        raise DefineHtmlError(f"{source}: not a Define-XML document: the root element is {root.tag}, not ODM")
    version = root.find(f"{{{ODM_NS}}}Study/{{{ODM_NS}}}MetaDataVersion")
    define_version = None if version is None else version.get(f"{{{DEFINE_NS}}}DefineVersion")
    if define_version is None or not define_version.startswith("2.1"):
        raise DefineHtmlError(
            f"{source}: not a Define-XML 2.1 document: Study/MetaDataVersion has no def:DefineVersion 2.1.x "
            f"in namespace {DEFINE_NS} (found {define_version!r})"
        )


def _load_stylesheet(stylesheet: Path) -> etree.XSLT:
    """Compile the stylesheet with all file and network access denied during transforms."""
    document = _parse(stylesheet, str(stylesheet))
    try:
        return etree.XSLT(document, access_control=etree.XSLTAccessControl.DENY_ALL)
    except etree.XSLTParseError as exc:
        raise DefineHtmlError(
            f"{stylesheet}: not a usable XSLT stylesheet: {_log(exc.error_log, exc)}"
        ) from exc


def _log(error_log: etree._ListErrorLog, exc: Exception) -> str:
    """The transform's own messages (xsl:message, access denials), else the exception text."""
    messages = "; ".join(dict.fromkeys(entry.message for entry in error_log if entry.message))
    return messages or str(exc)
