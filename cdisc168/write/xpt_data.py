"""Observations of SAS XPORT version 5 files, read and written a whole column at a time with numpy.

The layout is SAS Technical Note TS-140, summarised in ``reference/xpt_v5_layout.md`` §5-7: after the
OBS header record the observations are fixed-width records of ``sum(NAMESTR lengths)`` bytes, packed
back to back across the 80-byte records, the last one padded with blanks (0x20). Each value sits at
its NAMESTR position: character values left-aligned and blank padded, numbers as big-endian IBM
System/360 hexadecimal floats truncated to the NAMESTR length (2..8 bytes).

The file is memory-mapped and viewed as an ``(observations, record length)`` byte matrix; every
variable is a column slice of it, copied out a block of records at a time. The values are the ones
``pyreadstat.read_xport`` (ReadStat) gives, bit for bit, which the tests check on every dataset of a
built package:

* **Character**: trailing blanks removed, the text cut at the first NUL byte (ReadStat hands over C
  strings), decoded with ``encoding``; a value that is empty after that is missing. Each column is
  hashed into its distinct values (most SDTM columns have few), which are decoded once and then spread
  back to the records, giving pandas ``str`` columns (Arrow-backed) as pyreadstat does;
* **Numeric**: IBM → IEEE as TS-140's ``xpt2ieee`` (ReadStat's copy) does it, including its
  truncation of the 1-3 low fraction bits a 53-bit double cannot hold. A value whose 7 bytes after the
  first are zero is missing (``NaN``): SAS missing ``.``, ``._`` and ``.A``-``.Z`` (first byte 0x2E,
  0x5F, 0x41-0x5A), and any other first byte with a zero fraction; eight zero bytes are 0. The
  saturated pattern ``7FFFFFFFFFFFFFFF`` (sign bit aside) is ±infinity. Shorter numerics are padded
  with zero bytes on the right. ReadStat reads only lengths 3..8 (``NaN`` otherwise); TS-140 allows 2,
  read here as the leading bytes too; other lengths are an error.

**Blank records at the end** (TS-140 ambiguity): padding and an all-blank record look the same. SAS
and ReadStat both take every all-blank record after the last non-blank byte of the data as padding,
whatever the record length, and keep all-blank records that data follows; so does this reader. The
writer refuses the only datasets where that loses data (``XPT-BLANKROW``: all-character datasets with
an all-blank record). Unlike ReadStat, which silently drops it, a non-blank partial record at the end
(a truncated file) is an error.

Writing (:func:`write_xpt_data`) is the mirror image: one byte matrix of blank-padded text and IBM
floats (TS-140's ``ieee2xpt``, exact for every double :func:`cdisc168.write.xpt.write_xpt` accepts),
after header and NAMESTR records laid out exactly as ReadStat lays them out, so files are
byte-identical to those pyreadstat wrote (the tests compare the bytes of every fixture dataset).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.write.xpt_header import (
    DESCRIPTOR_HEADER,
    HEADER_LIMIT,
    LIBRARY_HEADER,
    MEMBER_HEADER,
    NAMESTR_HEADER_PREFIX,
    NAMESTR_STRUCT,
    OBS_HEADER,
    RECORD_LENGTH,
    XptHeader,
    XptLayoutError,
    XptNamestr,
    format_sas_timestamp,
    read_xpt_header,
)

__all__ = ["XptVariableLike", "ibm_to_ieee", "ieee_to_ibm", "read_xpt_data", "write_xpt_data"]

BLANK = 0x20
MIN_NUMERIC_LENGTH = 2
MAX_NUMERIC_LENGTH = 8
NUL = b"\x00"
# Bytes scanned per step, from the end, for the last non-blank byte of the observations.
_TAIL_CHUNK = 1 << 20
# Rows converted at a time: the temporaries of 65,536 numbers stay in the processor cache.
_BLOCK_ROWS = 1 << 16
# Records split into variables at a time (a few hundred kB to a few MB of records).
_SPLIT_ROWS = 1 << 12

_SIGN = np.uint64(1 << 63)
_FRACTION = np.uint64((1 << 56) - 1)
_IMPLICIT_ONE = np.uint64(1 << 52)
_INFINITY_PATTERN = np.uint64((1 << 63) - 1)
# Right shift that brings the leading 1 of the first hex digit of the fraction to bit 52 (xpt2ieee).
_SHIFT_BY_FIRST_DIGIT = np.array([0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3], dtype=np.uint64)


def _ibm_words_to_ieee(words: np.ndarray) -> np.ndarray:
    """``xpt2ieee`` on native-order 64-bit IBM words (see :func:`ibm_to_ieee`)."""
    fraction = words & _FRACTION
    shift = _SHIFT_BY_FIRST_DIGIT[(fraction >> np.uint64(52)).astype(np.intp)]
    # IEEE biased exponent: 4 × (IBM exponent - 65) + shift + 1023 = 4 × (first byte & 0x7F) + 763 + shift
    exponent = ((words >> np.uint64(54)) & np.uint64(0x1FC)) + np.uint64(763) + shift
    bits = (words & _SIGN) | (exponent << np.uint64(52)) | ((fraction >> shift) & ~_IMPLICIT_ONE)
    values = bits.view(np.float64)
    zero_fraction = fraction == 0
    if zero_fraction.any():
        values[zero_fraction] = np.where(words[zero_fraction] == 0, 0.0, np.nan)
    infinite = (words & _INFINITY_PATTERN) == _INFINITY_PATTERN
    if infinite.any():
        values[infinite] = np.where((words[infinite] & _SIGN) != 0, -np.inf, np.inf)
    return values


def ibm_to_ieee(fields: np.ndarray) -> np.ndarray:
    """IEEE float64 of big-endian IBM hexadecimal floats, one row of 2..8 bytes per value (TS-140).

    IBM: sign bit, 7-bit excess-64 base-16 exponent, 56-bit fraction; value = ±0.fraction × 16^(e-64).
    Follows TS-140's ``xpt2ieee`` bit for bit (as ReadStat, hence pyreadstat, does): the fraction is
    shifted right until its leading 1 is the implicit IEEE bit, dropping (not rounding) up to 3 low bits.
    A zero fraction is 0 when the first byte is 0 and missing (``NaN``) otherwise, which covers the SAS
    missing values ``.``, ``._`` and ``.A``-``.Z``; ``7FFFFFFFFFFFFFFF`` is infinity (with its sign).
    Rows shorter than 8 bytes are padded with zero bytes (SAS truncates short numerics on the right).
    Converted in blocks of rows that stay in the processor cache.
    """
    count, width = fields.shape
    if width == 8 and fields.flags.c_contiguous:
        words = fields.view(">u8").ravel()
    else:
        padded = np.zeros((count, 8), dtype=np.uint8)
        padded[:, :width] = fields
        words = padded.view(">u8").ravel()
    values = np.empty(count, dtype=np.float64)
    for start in range(0, count, _BLOCK_ROWS):
        block = slice(start, start + _BLOCK_ROWS)
        values[block] = _ibm_words_to_ieee(words[block].astype(np.uint64))
    return values


def _last_nonblank(data: np.ndarray) -> int:
    """Offset of the last byte that is not a blank, or -1; scans back from the end in chunks."""
    end = data.size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        found = np.flatnonzero(data[start:end] != BLANK)
        if found.size:
            return start + int(found[-1])
        end = start
    return -1


def _observation_records(data: np.ndarray, record_length: int, source: Path) -> np.ndarray:
    """The observations as an ``(n, record_length)`` byte matrix, trailing blank padding dropped.

    Every all-blank record after the last non-blank byte is padding (SAS, ReadStat); a partial record
    holding data means the file was cut short.
    """
    if record_length == 0:
        return np.empty((0, 0), dtype=np.uint8)
    last = _last_nonblank(data)
    count = (last + record_length) // record_length
    if count * record_length > data.size:
        kept = data.size - (count - 1) * record_length
        raise XptLayoutError(
            f"{source}: observation {count} is cut off after {kept} of its {record_length} bytes "
            "(truncated or damaged file)"
        )
    return data[: count * record_length].reshape(count, record_length)


def _split_variables(records: np.ndarray, variables: tuple[XptNamestr, ...]) -> list[np.ndarray]:
    """Each variable's bytes as its own contiguous ``(n, length)`` array.

    Copied a block of records at a time, so each block is read from memory once for all variables
    instead of once per variable.
    """
    count = len(records)
    split = [np.empty((count, v.length), dtype=np.uint8) for v in variables]
    for start in range(0, count, _SPLIT_ROWS):
        block = records[start : start + _SPLIT_ROWS]
        for variable, fields in zip(variables, split, strict=True):
            fields[start : start + _SPLIT_ROWS] = block[
                :, variable.position : variable.position + variable.length
            ]
    return split


def _decode_text(raw: bytes, encoding: str) -> str | None:
    """ReadStat's reading of a character value: trailing blanks off, cut at NUL; empty → missing."""
    return raw.rstrip(b" ").partition(NUL)[0].decode(encoding) or None


def _text_column(
    fields: np.ndarray, variable: XptNamestr, encoding: str, source: Path
) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """A character variable as pandas ``str`` (missing for blank), decoding each distinct value once."""
    count, width = fields.shape
    if count == 0:
        return np.empty(0, dtype=object)
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), count, [None, pa.py_buffer(fields)])
    codes = pc.dictionary_encode(fixed)
    texts: list[str | None] = []
    for code, raw in enumerate(codes.dictionary.to_pylist()):
        try:
            texts.append(_decode_text(raw, encoding))
        except UnicodeDecodeError as error:
            row = int(np.argmax(codes.indices.to_numpy() == code)) + 1
            raise XptLayoutError(
                f"{source}: {variable.name}, observation {row}: {raw.rstrip(b' ')!r} is not {encoding} "
                f"text ({error.reason})"
            ) from None
    values = pc.take(pa.array(texts, type=pa.large_string()), codes.indices)
    return pd.array(values, dtype="str")


def _check_variables(variables: tuple[XptNamestr, ...], source: Path) -> None:
    """Names once each; numeric lengths 2..8 (TS-140: an IBM float truncated to 2..8 bytes)."""
    names = [v.name for v in variables]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise XptLayoutError(
            f"{source}: variable names repeated in the NAMESTR records: {', '.join(repeated)}"
        )
    for variable in variables:
        if variable.type == "Num" and not MIN_NUMERIC_LENGTH <= variable.length <= MAX_NUMERIC_LENGTH:
            raise XptLayoutError(
                f"{source}: numeric variable {variable.name} has length {variable.length}; "
                f"XPT v5 numerics are {MIN_NUMERIC_LENGTH}..{MAX_NUMERIC_LENGTH} bytes"
            )


def read_xpt_data(path: Path | str, *, encoding: str = "latin1") -> tuple[XptHeader, pd.DataFrame]:
    """The header and the observations of the one-member XPT v5 file at ``path`` (TS-140).

    Columns come in NAMESTR order: ``float64`` numerics (``NaN`` for SAS missing values), ``str``
    text (``NaN`` for blank values; ``object`` when there are no observations), exactly as
    ``pyreadstat.read_xport(encoding=encoding)`` reads them with blanks as missing. Raises
    :class:`XptLayoutError` naming the file for a damaged or truncated file, a header that is not
    version 5, repeated variable names or text that ``encoding`` cannot decode.
    """
    source = Path(path)
    size = source.stat().st_size
    if size == 0 or size % RECORD_LENGTH:
        raise XptLayoutError(f"{source}: file length {size} is not a positive multiple of {RECORD_LENGTH}")
    data = np.memmap(source, dtype=np.uint8, mode="r")
    try:
        header = read_xpt_header(data[:HEADER_LIMIT].tobytes())
    except XptLayoutError as error:
        raise XptLayoutError(f"{source}: {error}") from None
    _check_variables(header.variables, source)
    records = _observation_records(data[header.observations_offset :], header.observation_length, source)
    count = len(records)
    split = _split_variables(records, header.variables)
    del data, records
    columns: dict[str, pd.api.extensions.ExtensionArray | np.ndarray] = {}
    for variable, fields in zip(header.variables, split, strict=True):
        if variable.type == "Num":
            columns[variable.name] = ibm_to_ieee(fields)
        else:
            columns[variable.name] = _text_column(fields, variable, encoding, source)
    return header, pd.DataFrame(columns, index=pd.RangeIndex(count))


# --- writing ------------------------------------------------------------------------------------

_MANTISSA = np.uint64((1 << 52) - 1)
_MISSING = np.uint64(ord(".") << 56)
# Header fields as ReadStat (pyreadstat) has always written them, so files stay byte-identical.
_SAS_VERSION = "6.06"
_OPERATING_SYSTEM = "bsd4.2"
# IEEE binary exponents an IBM float holds: 16**-65 (2**-260) .. below 16**63 (2**252).
_LOWEST_EXPONENT = -260
_HIGHEST_EXPONENT = 248
_FORMAT_PARTS = re.compile(r"(?P<name>.*?)(?P<width>\d*)\.(?P<decimals>\d*)")


class XptVariableLike(Protocol):
    """What the writer needs of a variable (:class:`cdisc168.write.xpt.XptVariable` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def type(self) -> Literal["Char", "Num"]: ...
    @property
    def display_format(self) -> str | None: ...


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """Big-endian 8-byte IBM hexadecimal floats, one row per float64 value (TS-140 ``ieee2xpt``).

    Exact for every double whose binary exponent is -260..248: the 53-bit significand, shifted left
    0-3 bits to a base-16 exponent, fits the 56-bit fraction. As TS-140 (and ReadStat) do, smaller
    magnitudes (and ±0) become 0 and larger ones (and ±infinity) the saturated ``7FFFFFFFFFFFFFFF``
    with their sign; ``NaN`` is the SAS missing value ``.`` (0x2E and seven zero bytes).
    """
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    sign = bits & _SIGN
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    shift = (exponent & 3).astype(np.uint64)
    fraction = ((bits & _MANTISSA) | _IMPLICIT_ONE) << shift
    ibm_exponent = np.clip((exponent >> 2) + 65, 0, 127).astype(np.uint64)
    words = sign | (ibm_exponent << np.uint64(56)) | fraction
    words = np.where(exponent < _LOWEST_EXPONENT, np.uint64(0), words)
    words = np.where(exponent > _HIGHEST_EXPONENT, sign | _INFINITY_PATTERN, words)
    words = np.where(np.isnan(values), _MISSING, words)
    return words.astype(">u8").view(np.uint8).reshape(-1, 8)


def _text_fields(column: pd.Series, width: int, name: str) -> np.ndarray:
    """Character values as UTF-8 bytes, left-aligned and blank padded to ``width``; missing is blank."""
    text = pa.array(column.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    lengths = np.diff(offsets)
    if (lengths > width).any():
        row = int(np.argmax(lengths > width)) + 1
        raise ValueError(
            f"{name}: value at row {row} has {lengths[row - 1]} bytes, more than its length {width}"
        )
    fields = np.full((len(text), width), BLANK, dtype=np.uint8)
    if data_buffer is not None:
        fields[np.arange(width) < lengths[:, None]] = np.frombuffer(data_buffer, dtype=np.uint8)[
            offsets[0] : offsets[-1]
        ]
    return fields


def _ascii(text: str, width: int) -> bytes:
    return text.encode("ascii").ljust(width)


def _header_record(text: str) -> bytes:
    return _ascii(text, RECORD_LENGTH)


def _namestr(number: int, variable: XptVariableLike, length: int, position: int) -> bytes:
    """One NAMESTR record (TS-140) as ReadStat writes it: informat blank, justification 1 for numbers."""
    parts = _FORMAT_PARTS.fullmatch(variable.display_format or "")
    form, width, decimals = (
        (parts["name"], int(parts["width"] or 0), int(parts["decimals"] or 0)) if parts else ("", 0, 0)
    )
    numeric = variable.type == "Num"
    return NAMESTR_STRUCT.pack(
        1 if numeric else 2,
        0,
        length,
        number,
        _ascii(variable.name, 8),
        _ascii(variable.label or "", 40),
        _ascii(form, 8),
        width,
        decimals,
        1 if numeric else 0,
        b"\0\0",
        b" " * 8,
        0,
        0,
        position,
        b"\0" * 52,
    )


def _xpt_header(
    dataset: str, label: str, variables: Sequence[XptVariableLike], lengths: Mapping[str, int], stamp: str
) -> bytes:
    """Every record before the observations of a one-member XPORT v5 file (TS-140, xpt_v5_layout.md §2)."""
    positions = np.concatenate([[0], np.cumsum([lengths[v.name] for v in variables])])
    namestrs = b"".join(
        _namestr(number, variable, lengths[variable.name], int(position))
        for number, (variable, position) in enumerate(zip(variables, positions, strict=False), 1)
    )
    system = f"{_SAS_VERSION:<8}{_OPERATING_SYSTEM:<8}{'':24}{stamp}"
    return b"".join(
        [
            LIBRARY_HEADER,
            _header_record(f"SAS     SAS     SASLIB  {system}"),
            _header_record(stamp),
            MEMBER_HEADER,
            DESCRIPTOR_HEADER,
            _header_record(f"SAS     {dataset:<8}SASDATA {system}"),
            _header_record(f"{stamp}{'':16}{label:<40}{'':8}"),
            _header_record(f"{NAMESTR_HEADER_PREFIX.decode('ascii')}{len(variables):04d}{'0' * 20}"),
            namestrs + _padding(len(namestrs)),
            OBS_HEADER,
        ]
    )


def _padding(size: int) -> bytes:
    """Blanks that fill the last 80-byte record (TS-140)."""
    return b" " * (-size % RECORD_LENGTH)


def _records(frame: pd.DataFrame, variables: Sequence[XptVariableLike], widths: Sequence[int]) -> np.ndarray:
    """The observation records of ``frame`` as one byte matrix (one row per record)."""
    records = np.empty((len(frame), sum(widths)), dtype=np.uint8)
    position = 0
    for variable, width in zip(variables, widths, strict=True):
        column = frame[variable.name]
        if variable.type == "Num":
            fields = ieee_to_ibm(column.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            fields = _text_fields(column, width, variable.name)
        records[:, position : position + width] = fields
        position += width
    return records


def write_xpt_data(
    frame: pd.DataFrame | Iterable[pd.DataFrame],
    path: Path | str,
    dataset: str,
    label: str,
    variables: Sequence[XptVariableLike],
    lengths: Mapping[str, int],
    timestamp: datetime | date,
) -> None:
    """Write ``frame`` to ``path`` as a one-member XPT v5 file, byte for byte as pyreadstat would.

    ``frame`` holds the variables as :func:`cdisc168.write.xpt.write_xpt` prepares them: ``float64``
    numbers (``NaN`` is SAS missing ``.``) and text (``None`` is blank); it may also be an iterable of
    such frames, consecutive blocks of records written one after the other, so a dataset of millions of
    records never exists in memory as one byte matrix. ``lengths`` are the NAMESTR lengths (8 for
    numbers, at least the longest value for text). Header date-times are ``timestamp``. Records are
    byte matrices: IBM floats from :func:`ieee_to_ibm`, text blank padded; the last 80-byte record is
    padded with blanks (TS-140). Nothing is checked here: that is ``write_xpt``'s job
    (:func:`cdisc168.write.xpt.check_xpt_metadata`).
    """
    widths = [lengths[v.name] for v in variables]
    blocks = [frame] if isinstance(frame, pd.DataFrame) else frame
    header = _xpt_header(dataset, label, variables, lengths, format_sas_timestamp(timestamp).decode("ascii"))
    size = 0
    with Path(path).open("wb") as stream:
        stream.write(header)
        for block in blocks:
            records = _records(block, variables, widths)
            stream.write(records.data)
            size += records.size
        stream.write(_padding(size))
