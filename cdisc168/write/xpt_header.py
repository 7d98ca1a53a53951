"""Byte layout of SAS XPORT version 5 transport files: read the header, fix its timestamps.

The layout is SAS Technical Note TS-140 ("The Record Layout of a Data Set in SAS Transport (XPORT)
Format"), summarised with byte offsets in ``reference/xpt_v5_layout.md``: 80-byte records; a library
header, two "real header" records, a member header, a descriptor header, two member records, a NAMESTR
header, one 140-byte NAMESTR per variable and an OBS header before the observations.

Writers stamp the wall-clock time into four header fields (library created/modified, member
created/modified). :func:`stamp_xpt_timestamps` replaces them with a fixed date-time (the data cut),
so rebuilding a package gives byte-identical files. It patches bytes only after checking that every
record around them is exactly where TS-140 puts it, and refuses anything else (version 8, several
members, a damaged file).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

RECORD_LENGTH = 80
NAMESTR_LENGTH = 140

_ZEROS = b"0" * 30 + b"  "
LIBRARY_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + _ZEROS
MEMBER_HEADER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "
DESCRIPTOR_HEADER = b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!" + _ZEROS
NAMESTR_HEADER_PREFIX = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000"
OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + _ZEROS
LIBRARY_PREFIX = b"SAS     SAS     SASLIB  "
V8_LIBRARY_HEADER = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"

# One NAMESTR (TS-140): ntype, nhfun, nlng, nvar0, nname, nlabel, nform, nfl, nfd, nfj, nfill,
# niform, nifl, nifd, npos, rest.
NAMESTR_STRUCT = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")

# Record starts (0-based file offsets) of a one-member file.
_REAL_HEADER_1 = 1 * RECORD_LENGTH
_REAL_HEADER_2 = 2 * RECORD_LENGTH
_MEMBER_HEADER = 3 * RECORD_LENGTH
_DESCRIPTOR_HEADER = 4 * RECORD_LENGTH
_MEMBER_DATA_1 = 5 * RECORD_LENGTH
_MEMBER_DATA_2 = 6 * RECORD_LENGTH
_NAMESTR_HEADER = 7 * RECORD_LENGTH
_NAMESTR_START = 8 * RECORD_LENGTH

_TIMESTAMP_LENGTH = 16
# (field, file offset) of the four header date-times, ``ddMMMyy:hh:mm:ss`` (xpt_v5_layout.md §3).
TIMESTAMP_FIELDS: tuple[tuple[str, int], ...] = (
    ("library header created", _REAL_HEADER_1 + 64),
    ("library header modified", _REAL_HEADER_2 + 0),
    ("member header created", _MEMBER_DATA_1 + 64),
    ("member header modified", _MEMBER_DATA_2 + 0),
)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_TIMESTAMP_PATTERN = re.compile(
    rb"\d\d(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\d\d:\d\d:\d\d:\d\d"
)


class XptLayoutError(ValueError):
    """The bytes are not a one-member SAS XPORT version 5 file laid out as TS-140 describes."""


@dataclass(frozen=True, slots=True)
class XptNamestr:
    """One variable's NAMESTR record (TS-140): what a reader learns about a variable."""

    number: int
    name: str
    label: str
    type: Literal["Char", "Num"]
    length: int
    position: int
    display_format: str
    informat: str


@dataclass(frozen=True, slots=True)
class XptHeader:
    """Everything before the observations of a one-member XPORT v5 file."""

    dataset: str
    label: str
    dataset_type: str
    sas_version: str
    operating_system: str
    library_created: datetime
    library_modified: datetime
    created: datetime
    modified: datetime
    variables: tuple[XptNamestr, ...]
    observations_offset: int

    @property
    def observation_length(self) -> int:
        """Bytes per observation: the sum of the NAMESTR lengths."""
        return sum(v.length for v in self.variables)


def format_sas_timestamp(timestamp: datetime | date) -> bytes:
    """``ddMMMyy:hh:mm:ss`` with an upper-case English month, independent of the locale (TS-140).

    A ``date`` stands for midnight. The field keeps no time zone, so an aware ``datetime`` is written
    with its own wall-clock time.
    """
    if not isinstance(timestamp, datetime):
        timestamp = datetime(timestamp.year, timestamp.month, timestamp.day)
    text = (
        f"{timestamp.day:02d}{_MONTHS[timestamp.month - 1]}{timestamp.year % 100:02d}:"
        f"{timestamp.hour:02d}:{timestamp.minute:02d}:{timestamp.second:02d}"
    )
    return text.encode("ascii")


def parse_sas_timestamp(field: bytes) -> datetime:
    """Read a ``ddMMMyy:hh:mm:ss`` header field; two-digit years 00-59 are 20xx, 60-99 are 19xx."""
    if not _TIMESTAMP_PATTERN.fullmatch(field):
        raise XptLayoutError(f"not a SAS header date-time (ddMMMyy:hh:mm:ss): {field!r}")
    text = field.decode("ascii")
    year = int(text[5:7])
    try:
        return datetime(
            year + (2000 if year < 60 else 1900),
            _MONTHS.index(text[2:5]) + 1,
            int(text[0:2]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
        )
    except ValueError as error:
        raise XptLayoutError(f"impossible SAS header date-time {field!r}: {error}") from None


def _text(raw: bytes) -> str:
    """Header text: blank (or NUL) padded ASCII; other bytes kept as Latin-1 so nothing is lost."""
    return raw.decode("latin-1").rstrip(" \x00")


def _expect(data: bytes, offset: int, expected: bytes, what: str) -> None:
    found = data[offset : offset + len(expected)]
    if found != expected:
        raise XptLayoutError(f"{what} at byte {offset}: expected {expected!r}, found {found!r}")


def _timestamp_at(data: bytes, offset: int, what: str) -> datetime:
    field = data[offset : offset + _TIMESTAMP_LENGTH]
    if not _TIMESTAMP_PATTERN.fullmatch(field):
        raise XptLayoutError(f"{what} at byte {offset}: expected ddMMMyy:hh:mm:ss, found {field!r}")
    return parse_sas_timestamp(field)


def _display_format(name: bytes, width: int, decimals: int) -> str:
    """Rebuild ``DATE9.`` / ``8.2`` / ``$20.`` from the NAMESTR format name, width and decimals."""
    text = _text(name)
    if not text and width == 0 and decimals == 0:
        return ""
    return f"{text}{width or ''}.{decimals or ''}"


def _namestr(record: bytes, number: int) -> XptNamestr:
    (ntype, _, nlng, nvar0, nname, nlabel, nform, nfl, nfd, _, _, niform, nifl, nifd, npos, _) = (
        NAMESTR_STRUCT.unpack(record)
    )
    if ntype not in (1, 2):
        raise XptLayoutError(f"NAMESTR {number}: type {ntype} is neither 1 (numeric) nor 2 (character)")
    if nvar0 != number:
        raise XptLayoutError(f"NAMESTR {number}: variable number {nvar0} out of order")
    return XptNamestr(
        number=nvar0,
        name=_text(nname),
        label=_text(nlabel),
        type="Num" if ntype == 1 else "Char",
        length=nlng,
        position=npos,
        display_format=_display_format(nform, nfl, nfd),
        informat=_display_format(niform, nifl, nifd),
    )


def read_xpt_header(data: bytes) -> XptHeader:
    """Parse and check the header records of a one-member XPORT v5 file (TS-140).

    Raises :class:`XptLayoutError` naming the record and byte offset when anything differs from the
    documented layout, including a version 8 file (``LIBV8``), which the FDA does not accept.
    """
    if data.startswith(V8_LIBRARY_HEADER):
        raise XptLayoutError("SAS XPORT version 8 file (LIBV8 header); FDA submissions require version 5")
    if len(data) % RECORD_LENGTH:
        raise XptLayoutError(f"file length {len(data)} is not a multiple of {RECORD_LENGTH}")
    if len(data) < _NAMESTR_START + RECORD_LENGTH:
        raise XptLayoutError(f"file of {len(data)} bytes is too short for an XPORT header")
    _expect(data, 0, LIBRARY_HEADER, "library header record")
    _expect(data, _REAL_HEADER_1, LIBRARY_PREFIX, "library real header 1")
    _expect(data, _REAL_HEADER_2 + 16, b" " * 64, "library real header 2 padding")
    _expect(data, _MEMBER_HEADER, MEMBER_HEADER, "member header record")
    _expect(data, _DESCRIPTOR_HEADER, DESCRIPTOR_HEADER, "descriptor header record")
    _expect(data, _MEMBER_DATA_1, b"SAS     ", "member header data 1")
    _expect(data, _MEMBER_DATA_1 + 16, b"SASDATA ", "member header data 1")
    _expect(data, _MEMBER_DATA_2 + 16, b" " * 16, "member header data 2 padding")
    _expect(data, _NAMESTR_HEADER, NAMESTR_HEADER_PREFIX, "NAMESTR header record")
    count_field = data[_NAMESTR_HEADER + 54 : _NAMESTR_HEADER + 58]
    if not count_field.isdigit():
        raise XptLayoutError(f"NAMESTR header record: variable count {count_field!r} is not a number")
    nvars = int(count_field)
    stamps = {what: _timestamp_at(data, offset, what) for what, offset in TIMESTAMP_FIELDS}

    namestr_bytes = nvars * NAMESTR_LENGTH
    obs_header = _NAMESTR_START + -(-namestr_bytes // RECORD_LENGTH) * RECORD_LENGTH
    _expect(data, obs_header, OBS_HEADER, "OBS header record (a second member or a damaged NAMESTR block?)")
    variables = tuple(
        _namestr(data[start : start + NAMESTR_LENGTH], number)
        for number, start in enumerate(
            range(_NAMESTR_START, _NAMESTR_START + namestr_bytes, NAMESTR_LENGTH), 1
        )
    )
    position = 0
    for variable in variables:
        if variable.position != position:
            raise XptLayoutError(
                f"NAMESTR {variable.name}: position {variable.position}, expected {position}"
            )
        position += variable.length

    return XptHeader(
        dataset=_text(data[_MEMBER_DATA_1 + 8 : _MEMBER_DATA_1 + 16]),
        label=_text(data[_MEMBER_DATA_2 + 32 : _MEMBER_DATA_2 + 72]),
        dataset_type=_text(data[_MEMBER_DATA_2 + 72 : _MEMBER_DATA_2 + 80]),
        sas_version=_text(data[_REAL_HEADER_1 + 24 : _REAL_HEADER_1 + 32]),
        operating_system=_text(data[_REAL_HEADER_1 + 32 : _REAL_HEADER_1 + 40]),
        library_created=stamps["library header created"],
        library_modified=stamps["library header modified"],
        created=stamps["member header created"],
        modified=stamps["member header modified"],
        variables=variables,
        observations_offset=obs_header + RECORD_LENGTH,
    )


def stamp_xpt_timestamps(data: bytes, timestamp: datetime | date) -> bytes:
    """Return ``data`` with the four header date-times set to ``timestamp`` (TS-140 offsets).

    The whole header is checked first (:func:`read_xpt_header`), so bytes are only ever patched where a
    ``ddMMMyy:hh:mm:ss`` field sits inside the expected records.
    """
    read_xpt_header(data)
    stamp = format_sas_timestamp(timestamp)
    patched = bytearray(data)
    for _, offset in TIMESTAMP_FIELDS:
        patched[offset : offset + _TIMESTAMP_LENGTH] = stamp
    return bytes(patched)


def header_variables(header: XptHeader) -> dict[str, dict[str, object]]:
    """The variables as the NAMESTR records state them, in file order: name → ``{"label", "type",
    "length", "display_format"}`` (the metadata shape of :func:`cdisc168.write.xpt.read_xpt`)."""
    return {
        v.name: {"label": v.label, "type": v.type, "length": v.length, "display_format": v.display_format}
        for v in header.variables
    }


# Header bytes needed at most: 8 records + 9999 NAMESTRs (the count has 4 digits) + the OBS header.
HEADER_LIMIT = (8 + -(-9999 * 140 // RECORD_LENGTH) + 1) * RECORD_LENGTH


def read_xpt_header_file(path: Path | str) -> XptHeader:
    """The header of the XPT file at ``path``, reading only the header bytes (not the observations)."""
    source = Path(path)
    size = source.stat().st_size
    with source.open("rb") as stream:
        data = stream.read(min(size, HEADER_LIMIT) // RECORD_LENGTH * RECORD_LENGTH)
    try:
        return read_xpt_header(data)
    except XptLayoutError as error:
        raise XptLayoutError(f"{source}: {error}") from None
