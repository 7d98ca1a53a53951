"""Deterministic XLSX bytes: an XLSX file is a ZIP archive, and both zipfile (entry dates) and openpyxl
(docProps/core.xml created/modified) stamp the wall-clock time into it. Rewriting the archive with one
fixed moment (the data cut) makes the same workbook content give the same bytes (DESIGN.md, "Deterministic").
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def fixed_xlsx_bytes(data: bytes, stamp: datetime) -> bytes:
    """``data`` (an XLSX archive) with every ZIP entry and the core properties dated ``stamp``."""
    moment = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(lambda m: m.group(1) + moment + m.group(3), content)
            entry = zipfile.ZipInfo(item.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return output.getvalue()
