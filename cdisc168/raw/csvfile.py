"""Read one raw form CSV as collected text, reporting file-level problems as findings.

Implements the ``file``-scope rules of :mod:`cdisc168.raw.rules`: RAW-FILE-MISSING,
RAW-FILE-UNREADABLE, RAW-FILE-EMPTY, RAW-ENCODING, RAW-DELIMITER, RAW-CSV, RAW-RAGGED, and the
header rule RAW-HEADER-DUP. Every value is kept as the text in the file (``"<20"``, ``"0003"``,
``"NA"``); only an empty field becomes missing. Each record keeps the line number a person sees in a
text editor (header = line 1), also when a quoted value spans lines or blank lines are skipped.

Parsing is done by the pyarrow CSV reader (single-threaded: it is faster here and numbers the bad rows);
nothing loops over the records in Python except the rare line-number repair described in
:func:`_record_start_lines`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cdisc168.findings import Finding
from cdisc168.raw.rules import raw_finding

_BOM = b"\xef\xbb\xbf"
_OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}
_MAX_VALUE_CHARS = 200


@dataclass
class CsvText:
    """The records of one CSV file as text, or ``frame is None`` when the file is unusable.

    ``frame`` has one column per distinct header name (header order), pandas ``str`` dtype, missing =
    empty field, and a RangeIndex; ``lines[i]`` is the file line where record ``i`` starts.
    """

    file: str
    frame: pd.DataFrame | None
    lines: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    findings: list[Finding] = field(default_factory=list)


def read_form_csv(path: Path, expected_columns: Sequence[str] = ()) -> CsvText:
    """Read ``path`` as text and apply the file-level rules.

    ``expected_columns`` (the form contract's columns) is only used to recognise a wrong delimiter.
    Unusable files (missing, unreadable, empty, not UTF-8, not comma-separated, broken quoting) give one
    finding and no frame; ragged lines and repeated header names are reported and left out, and the
    rest of the file is loaded so that its values can still be checked.
    """
    file = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _unusable(file, "RAW-FILE-MISSING", f"{file} is missing from the raw folder", value=file)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return _unusable(file, "RAW-FILE-UNREADABLE", f"{file} cannot be read: {reason}", value=file)
    if not data:
        return _unusable(
            file, "RAW-FILE-EMPTY", "the file has 0 bytes (a form with no records needs its header)"
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]

    bad_line = first_non_utf8_line(data)
    if bad_line is not None:
        line, byte = bad_line
        return _unusable(
            file,
            "RAW-ENCODING",
            f"not UTF-8: byte 0x{byte:02X} on line {line} cannot be decoded (save the file as UTF-8)",
            row=line,
            value=f"0x{byte:02X}",
        )

    header_end = _line_end(data)
    header_text = data[:header_end].decode("utf-8")
    if not header_text.strip():
        return _unusable(file, "RAW-FILE-EMPTY", "the file has no header line", row=1)
    names = next(csv.reader([header_text]))

    delimiter = _other_delimiter(header_text, names, expected_columns)
    if delimiter is not None:
        return _unusable(
            file,
            "RAW-DELIMITER",
            f"the header is separated by {_OTHER_DELIMITERS[delimiter]}, not by commas",
            row=1,
            value=header_text[:_MAX_VALUE_CHARS],
        )
    if data.count(b'"') % 2:
        line = _unclosed_quote_line(data)
        return _unusable(
            file,
            "RAW-CSV",
            f"unbalanced double quote: line {line} opens a quoted value that is never closed (or has a "
            "stray quote), so the records after it cannot be told apart",
            row=line,
        )

    findings: list[Finding] = []
    keep = _first_occurrences(names)
    for name in sorted({n for i, n in enumerate(names) if i not in keep}, key=names.index):
        positions = [i + 1 for i, n in enumerate(names) if n == name]
        findings.append(
            raw_finding(
                "RAW-HEADER-DUP",
                f"column {name!r} appears {len(positions)} times in the header (positions "
                f"{', '.join(map(str, positions))}); only the first is loaded",
                dataset=file,
                row=1,
                variable=name,
                value=name,
            )
        )

    body = pa.py_buffer(data).slice(header_end + _line_break_length(data, header_end))
    try:
        table, bad_rows = _parse_body(body, len(names))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        return _unusable(file, "RAW-CSV", f"cannot be parsed as CSV: {exc}")

    # pyarrow numbers records from 1 within the body, blank lines not counted; +1 for the header.
    n_records = table.num_rows + len(bad_rows)
    bad_numbers = np.array(sorted(n + 1 for n, _, _ in bad_rows), dtype=np.int64)
    record_numbers = np.arange(2, n_records + 2, dtype=np.int64)
    if len(bad_numbers):
        loaded = np.ones(n_records, dtype=bool)
        loaded[bad_numbers - 2] = False
        record_numbers = record_numbers[loaded]
    lines, bad_lines = record_numbers, bad_numbers
    if _physical_line_count(data) != n_records + 1:
        starts = _record_start_lines(data)
        if len(starts) >= n_records + 1:
            lines, bad_lines = starts[record_numbers - 1], starts[bad_numbers - 1]

    for (_, actual, text), line in zip(sorted(bad_rows), bad_lines.tolist(), strict=True):
        fields = f"{actual} field" if actual == 1 else f"{actual} fields"
        findings.append(
            raw_finding(
                "RAW-RAGGED",
                f"line {line} has {fields} but the header has {len(names)}; the line is not loaded",
                dataset=file,
                row=int(line),
                value=text[:_MAX_VALUE_CHARS],
            )
        )

    frame = table.select(keep).to_pandas()
    frame.columns = [names[i] for i in keep]
    frame.index = pd.RangeIndex(len(frame))
    return CsvText(file=file, frame=frame, lines=np.asarray(lines, dtype=np.int64), findings=findings)


def first_non_utf8_line(data: bytes) -> tuple[int, int] | None:
    """``(line, byte)`` of the first byte that is not valid UTF-8, or None (rule RAW-ENCODING)."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1, data[exc.start]
    return None


def _unusable(file: str, rule: str, message: str, *, row: int | None = None, value: str = "") -> CsvText:
    return CsvText(
        file=file, frame=None, findings=[raw_finding(rule, message, dataset=file, row=row, value=value)]
    )


def _line_end(data: bytes) -> int:
    """Offset of the first line break (``\\n`` or a lone ``\\r``), or the length of ``data``."""
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(ends) if ends else len(data)


def _line_break_length(data: bytes, at: int) -> int:
    """Length of the line break starting at offset ``at`` (2 for ``\\r\\n``, 1, or 0 at the end)."""
    if data.startswith(b"\r\n", at):
        return 2
    return 1 if at < len(data) else 0


def _other_delimiter(header: str, names: list[str], expected: Sequence[str]) -> str | None:
    """The delimiter the header really uses, when it is not a comma (rule RAW-DELIMITER).

    With the contract's columns known: the delimiter whose split finds more of them than the comma
    split does. Without: a one-field header that contains the delimiter.
    """
    known = set(expected)
    best, best_hits = None, len(known.intersection(names))
    for delimiter in _OTHER_DELIMITERS:
        if delimiter not in header:
            continue
        if not known:
            return delimiter if len(names) == 1 else None
        hits = len(known.intersection(next(csv.reader([header], delimiter=delimiter))))
        if hits > best_hits:
            best, best_hits = delimiter, hits
    return best


def _first_occurrences(names: list[str]) -> list[int]:
    seen: set[str] = set()
    keep = []
    for i, name in enumerate(names):
        if name not in seen:
            seen.add(name)
            keep.append(i)
    return keep


def _parse_body(body: pa.Buffer, width: int) -> tuple[pa.Table, list[tuple[int, int, str]]]:
    """Parse the records after the header as strings; ragged rows are skipped and returned."""
    names = [f"c{i}" for i in range(width)]
    if _only_line_breaks(body):
        empty = pa.table({n: pa.array([], type=pa.string()) for n in names})
        return empty, []
    bad_rows: list[tuple[int, int, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append((int(row.number), int(row.actual_columns), str(row.text)))
        return "skip"

    table = pacsv.read_csv(
        body,
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )
    return table, bad_rows


def _only_line_breaks(body: pa.Buffer) -> bool:
    """True when the buffer holds nothing but line breaks (a header-only file)."""
    view = memoryview(body)
    if bytes(view[:4096]).strip(b"\r\n"):
        return False
    return not bytes(view).strip(b"\r\n")


def _physical_line_count(data: bytes) -> int:
    """Number of lines in the file, ignoring trailing line breaks (without copying the data)."""
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    return data.count(b"\n", 0, end) + 1 if end else 0


def _record_start_lines(data: bytes) -> np.ndarray:
    """Line on which each record starts (index 0 = header), skipping blank lines like the parser.

    Only needed when the file has blank lines, quoted values spanning lines or ``\\r`` line breaks,
    which makes record number and line number differ; it walks the records with the csv module once.
    """
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    starts: list[int] = []
    previous = 0
    try:
        for record in reader:
            if record:
                starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error:
        pass
    return np.array(starts, dtype=np.int64)


def _unclosed_quote_line(data: bytes) -> int:
    """Line where the file's final run of "inside a quoted value" begins (rule RAW-CSV).

    Quotes pair up in a valid CSV file, so the quote parity at the end of each line says whether the
    line ends inside a quoted value; the culprit is the line that starts the last odd run.
    """
    codes = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(codes == ord("\n"))
    quote_lines = np.searchsorted(newlines, np.flatnonzero(codes == ord('"')))
    odd_after = np.cumsum(np.bincount(quote_lines, minlength=len(newlines) + 1)) % 2
    even_lines = np.flatnonzero(odd_after == 0)
    return int(even_lines[-1]) + 2 if len(even_lines) else 1
