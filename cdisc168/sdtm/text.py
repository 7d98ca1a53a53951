"""SDTM text rules: ASCII-only character values and text longer than 200 characters.

**ASCII.** SAS transport version 5 holds ASCII text only, and the FDA Study Data Technical
Conformance Guide (SAS transport file format) asks for ASCII text in submitted datasets, and the file
cannot say which encoding it holds. Character values must therefore be printable ASCII (0x20-0x7E, see
:func:`ascii_check`). :func:`transliterate` turns common non-ASCII characters into their usual ASCII
spelling and reports every change (``SD-TEXT-TRANSLIT``, warning). A value holding anything it cannot
transliterate (CJK, other scripts, emoji, control characters) keeps its original text and is reported
as an error (``SD-TEXT-NONASCII``) so that the writer refuses it: nothing is ever replaced by "?".

Transliteration of one value, in this order (the rules the README documents):

1. Context rules:
   a. tab, line feed, carriage return (CR LF counts once), vertical tab, form feed, NEL and the
      Unicode line/paragraph separators become one space each;
   b. a run of superscript digits/signs right after "10" is a power: ``10⁹/L`` -> ``10^9/L``,
      ``10⁻³`` -> ``10^-3`` (the CDISC UNIT spelling); elsewhere superscripts are plain digits
      (``m²`` -> ``m2``, as in the UNIT term ``kg/m2``);
   c. a degree sign (° or ˚) directly before C or F is dropped: ``°C`` -> ``C``, ``°F`` -> ``F`` (the
      CDISC UNIT submission values); any other degree sign becomes ``deg`` (``90°`` -> ``90deg``);
   d. a vulgar fraction right after a digit is set off by a space: ``1½`` -> ``1 1/2``.
2. The explicit table :data:`TRANSLITERATION` (letters NFKD does not decompose, typographic
   punctuation, mathematical signs, Greek letters, symbols). Greek letters are spelt out in the case
   of the letter (``β`` -> ``beta``, ``Β`` -> ``BETA``; SDTM text is mostly upper case) except micro:
   ``µ``/``μ`` -> ``u`` and its upper case ``Μ`` -> ``U``, as in the UNIT terms ``ug``, ``uL``.
3. Unicode categories: every space separator (Zs: no-break, narrow no-break, en/em, ideographic
   space, ...) becomes a space; invisible format characters (Cf: zero-width space/joiners, soft
   hyphen, byte-order mark, direction marks) are removed.
4. Otherwise Unicode compatibility decomposition (NFKD) with the combining marks dropped: ``é`` ->
   ``e``, ``ö`` -> ``o``, ``ñ`` -> ``n``, ``ﬁ`` -> ``fi``, fullwidth ``Ａ`` -> ``A``, ``½`` -> ``1/2``,
   ``²`` -> ``2``, ``™`` -> ``TM``; each decomposed character must itself be printable ASCII or in the
   table.
5. Anything else cannot be transliterated and the whole value is left unchanged.

**Long text.** SDTMIG 3.4 §4.5.3.2 (Text Strings Greater than 200 Characters in Other Variables): the
first 200 characters stay in the domain variable, each further 200 characters go to a SUPP-- record
whose QNAM is the variable name with a 1-digit suffix (``AETERM1``, ``AETERM2``, ...; an 8-character
name has its last character replaced: ``AEACNOTH`` -> ``AEACNOT1``), QLABEL is the variable's own
label, and the text is split between words to improve readability. TS (assumption 4) and CO keep the
continuations as extra columns of the dataset instead (``TSVAL1``..``TSVALn``, ``COVAL1``..``COVALn``).
Lengths count characters, which equal bytes once the text is ASCII: transliterate first, then split.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from cdisc168.findings import Finding, Severity

__all__ = [
    "RULE_NONASCII",
    "RULE_TRANSLIT",
    "TRANSLITERATION",
    "SuppContinuation",
    "TransliterationResult",
    "ascii_check",
    "continuation_columns",
    "split_long_text",
    "split_to_supp",
    "supp_qlabels",
    "supp_qnams",
    "text_findings",
    "transliterate",
    "transliteration_table",
    "ts_value_columns",
]

RULE_TRANSLIT = "SD-TEXT-TRANSLIT"
RULE_NONASCII = "SD-TEXT-NONASCII"

SAS_V5_MAX_CHAR = 200
"""Longest character value SAS transport version 5 can hold (SDTMIG 3.4 §4.5.3.2)."""

_PRINTABLE_ASCII = r"[\x20-\x7E]*"
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,7}")
_MAX_LABEL = 40

# Explicit transliterations, applied before the NFKD fallback. Escapes are used where the character
# looks like an ASCII one in an editor (dashes, quotes, spaces).
_TABLE: dict[str, str] = {
    # Latin letters that NFKD does not decompose
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
    "ŋ": "ng",
    "Ŋ": "NG",
    "ŀ": "l",
    "Ŀ": "L",
    "ƒ": "f",
    # apostrophes, single quotes and primes
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u2035": "'",  # reversed prime
    "\u2039": "'",  # single left-pointing angle quotation mark
    "\u203a": "'",  # single right-pointing angle quotation mark
    "\u00b4": "'",  # acute accent (spacing)
    "\u02b9": "'",  # modifier letter prime
    "\u02bc": "'",  # modifier letter apostrophe
    # double quotes
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u2033": '"',  # double prime
    "\u02ba": '"',  # modifier letter double prime
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    # hyphens, dashes and minus
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2e3a": "-",  # two-em dash
    "\u2e3b": "-",  # three-em dash
    "\ufe58": "-",  # small em dash
    "\u2053": "~",  # swung dash
    # ellipsis, bullets and dots
    "\u2026": "...",  # horizontal ellipsis
    "\u22ef": "...",  # midline horizontal ellipsis
    "\u2022": "-",  # bullet
    "\u2023": "-",  # triangular bullet
    "\u2043": "-",  # hyphen bullet
    "\u25e6": "-",  # white bullet
    "\u25aa": "-",  # black small square
    "\u25cf": "-",  # black circle
    "\u00b7": ".",  # middle dot
    "\u2219": ".",  # bullet operator
    "\u22c5": ".",  # dot operator
    # mathematical signs
    "×": "x",
    "÷": "/",
    "±": "+/-",
    "∓": "-/+",
    "≤": "<=",
    "≥": ">=",
    "≦": "<=",
    "≧": ">=",
    "⩽": "<=",
    "⩾": ">=",
    "≠": "!=",
    "≈": "~",
    "∼": "~",
    "\u2044": "/",  # fraction slash
    "\u2215": "/",  # division slash
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "⇒": "=>",
    # degree and units (see also the context rule for °C / °F)
    "°": "deg",
    "˚": "deg",
    "℃": "C",
    "℉": "F",
    "\u2126": "ohm",  # ohm sign (the Greek capital omega spells OMEGA)
    "\u00b5": "u",  # micro sign
    "\u2206": "DELTA",  # increment, typed for a capital delta
    # symbols (Greek letters: see _greek_letters below)
    "®": "(R)",
    "©": "(C)",
    "™": "TM",
    "€": "EUR",
    "£": "GBP",
}


def _greek_letters() -> dict[str, str]:
    """Greek letters spelt out in their own case (α -> alpha, Β -> BETA); mu is micro (μ -> u, Μ -> U)."""
    letters: dict[str, str] = {}
    for code in [*range(0x0391, 0x03AA), *range(0x03B1, 0x03CA)]:
        char = chr(code)
        name = unicodedata.name(char, "")
        if not name.startswith("GREEK"):
            continue  # U+03A2 is unassigned
        spelt = name.split()[-1].lower()
        spelt = {"mu": "u", "lamda": "lambda"}.get(spelt, spelt)  # Unicode spells it LAMDA
        letters[char] = spelt.upper() if "CAPITAL" in name else spelt
    return letters


_TABLE.update(_greek_letters())

TRANSLITERATION: Mapping[str, str] = MappingProxyType(_TABLE)
"""Explicit character -> ASCII table (rule 2 of the module docstring); NFKD handles the rest."""

_SPACES = re.compile("\r\n|[\t\n\x0b\x0c\r\x85\u2028\u2029]")
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻"
_SUPERSCRIPT_ASCII = str.maketrans(_SUPERSCRIPTS, "0123456789+-")
_POWER_OF_TEN = re.compile(f"(?<=10)([{_SUPERSCRIPTS}]+)")
_DEGREE_BEFORE_UNIT = re.compile("[°˚](?=[CF])")
_FRACTION_AFTER_DIGIT = re.compile("(?<=[0-9])(?=[\u00bc-\u00be\u2150-\u215e\u2189])")


def _printable(char: str) -> bool:
    return " " <= char <= "~"


@lru_cache(maxsize=4096)
def _char_to_ascii(char: str) -> str | None:
    """ASCII for one character (rules 2-5 of the module docstring), or None if there is none."""
    if _printable(char):
        return char
    if char in _TABLE:
        return _TABLE[char]
    category = unicodedata.category(char)
    if category == "Zs":
        return " "
    if category == "Cf":
        return ""
    parts: list[str] = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.category(part) in ("Mn", "Me"):
            continue
        if _printable(part):
            parts.append(part)
        elif part in _TABLE:
            parts.append(_TABLE[part])
        else:
            return None
    return "".join(parts)


def _apply_context_rules(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _POWER_OF_TEN.sub(lambda m: "^" + m.group(1).translate(_SUPERSCRIPT_ASCII), text)
    text = _DEGREE_BEFORE_UNIT.sub("", text)
    return _FRACTION_AFTER_DIGIT.sub(" ", text)


def _transliterate_value(text: str) -> str | None:
    """ASCII text for one value, or None when any character cannot be transliterated."""
    out: list[str] = []
    for char in _apply_context_rules(text):
        ascii_text = _char_to_ascii(char)
        if ascii_text is None:
            return None
        out.append(ascii_text)
    return "".join(out)


def _untransliterable_chars(text: str) -> list[str]:
    """Distinct characters of ``text`` that have no ASCII form, in order of first appearance."""
    seen: dict[str, None] = {}
    for char in _apply_context_rules(text):
        if _char_to_ascii(char) is None:
            seen.setdefault(char, None)
    return list(seen)


def _require_series(values: object, argument: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{argument} must be a pandas Series, got {type(values).__name__}")
    return values


def _is_text_dtype(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)


def _as_text(values: pd.Series, argument: str) -> pd.Series:
    """``values`` as a text Series (object or str dtype), or a TypeError naming the argument."""
    _require_series(values, argument)
    if not _is_text_dtype(values):
        raise TypeError(f"{argument} must hold text (object or str dtype), got dtype {values.dtype}")
    return values


def ascii_check(values: pd.Series) -> pd.Series:
    """True where a value is printable ASCII (0x20-0x7E) or missing; vectorised.

    XPT v5 holds ASCII only and the FDA Study Data Technical Conformance Guide asks for ASCII text;
    tabs, line breaks and other control characters are not printable and fail too. Non-text columns
    (numbers, dates) are all True. The result has the index of ``values``.
    """
    _require_series(values, "values")
    if not _is_text_dtype(values) or values.empty:
        return pd.Series(True, index=values.index, dtype=bool)
    text = values if pd.api.types.is_string_dtype(values.dtype) else values.astype("str")
    ok = text.str.fullmatch(_PRINTABLE_ASCII)
    return (ok.fillna(False).astype(bool) | text.isna()).rename(values.name)


@dataclass(frozen=True, eq=False)
class TransliterationResult:
    """Outcome of :func:`transliterate`; every Series has the index of the input.

    ``values`` is the ASCII text, except where ``untransliterable`` is True: those rows keep their
    original text (the writer refuses them). ``changed`` marks transliterated rows. ``mapping`` gives,
    for each distinct non-ASCII value, its ASCII text or None.
    """

    original: pd.Series
    values: pd.Series
    changed: pd.Series
    untransliterable: pd.Series
    mapping: Mapping[str, str | None]

    def findings(
        self,
        dataset: str,
        variable: str,
        rows: pd.Series | Sequence[int] | None = None,
        usubjid: pd.Series | Sequence[str] | None = None,
        seq: pd.Series | Sequence[float] | None = None,
    ) -> list[Finding]:
        """Same as :func:`text_findings` for this result."""
        return text_findings(self, dataset, variable, rows, usubjid=usubjid, seq=seq)


def transliterate(values: pd.Series) -> TransliterationResult:
    """Transliterate text to printable ASCII by the rules of the module docstring (FDA TCG: ASCII only).

    Plain ASCII values, the vast majority, are found by one vectorised check and left alone; only the
    distinct remaining values are transliterated one by one. A value with any character that cannot be
    transliterated (CJK, other scripts, emoji, control characters) keeps its original text and is
    flagged ``untransliterable``; it is never partly converted and nothing becomes "?". Missing values
    stay missing and are neither changed nor flagged.
    """
    text = _as_text(values, "values")
    ok = ascii_check(text).to_numpy(dtype=bool)
    out = text.copy()
    changed = np.zeros(len(text), dtype=bool)
    failed = np.zeros(len(text), dtype=bool)
    mapping: dict[str, str | None] = {}
    if not ok.all():
        todo = text[~ok]
        mapping = {value: _transliterate_value(value) for value in pd.unique(todo) if isinstance(value, str)}
        converted = todo.map(mapping)
        positions = np.flatnonzero(~ok)
        good = converted.notna().to_numpy(dtype=bool)
        changed[positions[good]] = True
        failed[positions[~good]] = True
        out.iloc[positions[good]] = converted[good].to_numpy()
    return TransliterationResult(
        original=values,
        values=out,
        changed=pd.Series(changed, index=values.index, name=values.name),
        untransliterable=pd.Series(failed, index=values.index, name=values.name),
        mapping=MappingProxyType(mapping),
    )


def _aligned(values: pd.Series | Sequence[Any] | None, length: int, argument: str) -> list[Any] | None:
    if values is None:
        return None
    items = values.tolist() if isinstance(values, pd.Series) else list(values)
    if len(items) != length:
        raise ValueError(f"{argument} has {len(items)} items, expected {length} (one per value)")
    return items


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # NaN
    if isinstance(value, (str, int)):
        return False
    return bool(pd.isna(value))


def _code_points(chars: list[str], shown: int = 10) -> str:
    text = " ".join(f"U+{ord(c):04X}" for c in chars[:shown])
    return text if len(chars) <= shown else f"{text} and {len(chars) - shown} more"


def _translit_message(original: str, ascii_text: str) -> str:
    what = (
        "non-ASCII text transliterated to ASCII"
        if any(ord(c) > 0x7E for c in original)
        else "control characters replaced by spaces"
    )
    return f"{what}: {original!r} -> {ascii_text!r}"


def _nonascii_message(original: str) -> str:
    chars = _code_points(_untransliterable_chars(original))
    return f"text cannot be transliterated to ASCII (characters {chars}); it is not replaced"


def text_findings(
    result: TransliterationResult,
    dataset: str,
    variable: str,
    rows: pd.Series | Sequence[int] | None = None,
    usubjid: pd.Series | Sequence[str] | None = None,
    seq: pd.Series | Sequence[float] | None = None,
) -> list[Finding]:
    """Findings for a :func:`transliterate` result: one per changed or untransliterable value.

    * ``SD-TEXT-TRANSLIT`` (warning): the value was transliterated; the message shows both texts.
    * ``SD-TEXT-NONASCII`` (error): the value cannot be transliterated and is not replaced; the
      message lists the offending code points (FDA TCG: ASCII only; XPT v5 cannot hold it).

    ``rows`` (1-based record numbers), ``usubjid`` and ``seq`` are aligned by position with the
    values; ``rows`` defaults to the position + 1. ``value`` of each finding is the original text.
    """
    length = len(result.values)
    row_items = _aligned(rows, length, "rows")
    subjects = _aligned(usubjid, length, "usubjid")
    seqs = _aligned(seq, length, "seq")
    changed = result.changed.to_numpy(dtype=bool)
    failed = result.untransliterable.to_numpy(dtype=bool)
    originals = result.original.tolist()
    messages: dict[str, tuple[str, Severity, str]] = {}
    for value, ascii_text in result.mapping.items():
        if ascii_text is None:
            messages[value] = (RULE_NONASCII, Severity.ERROR, _nonascii_message(value))
        else:
            messages[value] = (RULE_TRANSLIT, Severity.WARNING, _translit_message(value, ascii_text))
    findings: list[Finding] = []
    for position in np.flatnonzero(changed | failed).tolist():
        original: str = originals[position]
        rule, severity, message = messages[original]
        if row_items is None:
            row: int | None = position + 1
        else:
            row = None if _missing(row_items[position]) else int(row_items[position])
        findings.append(
            Finding(
                rule=rule,
                severity=severity,
                message=message,
                dataset=dataset,
                row=row,
                variable=variable,
                value=original,
                usubjid="" if subjects is None or _missing(subjects[position]) else str(subjects[position]),
                seq=None if seqs is None or _missing(seqs[position]) else float(seqs[position]),
            )
        )
    return findings


def transliteration_table() -> pd.DataFrame:
    """The explicit table as a frame (character, code point, Unicode name, ASCII) for documentation."""
    rows = [
        (char, f"U+{ord(char):04X}", unicodedata.name(char, ""), ascii_text)
        for char, ascii_text in sorted(_TABLE.items(), key=lambda item: ord(item[0]))
    ]
    return pd.DataFrame(rows, columns=["character", "code_point", "name", "ascii"])


# --- long text (SDTMIG 3.4 §4.5.3.2) ---------------------------------------------------------------


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _cut(text: str, limit: int) -> int:
    """Where to end the next chunk of ``text`` (longer than ``limit``).

    At the first space of the last run of spaces that begins within ``text[1:limit + 1]``, so the
    chunk ends on the end of a word and the space(s) open the next chunk; else at ``limit`` (a word
    longer than the limit is split hard).
    """
    cut = text.rfind(" ", 1, limit + 1)
    while cut > 0 and text[cut - 1] == " ":
        cut -= 1
    return cut if cut > 0 else limit


def _split(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    while len(text) > limit:
        cut = _cut(text, limit)
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts


def split_long_text(values: pd.Series, limit: int = SAS_V5_MAX_CHAR) -> pd.DataFrame:
    """Split text longer than ``limit`` into chunks of at most ``limit`` characters (SDTMIG 3.4 §4.5.3.2).

    §4.5.3.2 keeps the first 200 characters in the variable and each further 200 in a continuation,
    split between words to improve readability. Column 0 of the result is the first part, columns
    1..n the continuations (missing where a value has fewer parts); there are no continuation columns
    when nothing is too long. The index is that of ``values``.

    Split points: a chunk ends at the end of the last word that fits (before the last space, or run of
    spaces, at or before position ``limit``), and that space opens the next chunk; a word longer than
    ``limit`` is cut hard at ``limit``. No character is added or lost: ``"".join`` of a row's parts is
    the original text. The space is kept at the start of the continuation, not the end of the part
    before, because SAS drops trailing blanks and would lose it. A value of exactly ``limit`` characters
    is not split. Lengths are in characters, equal to bytes for ASCII text: transliterate first.
    """
    text = _as_text(values, "values")
    _check_limit(limit)
    first = text.copy()
    long_mask = (text.str.len() > limit).fillna(False).to_numpy(dtype=bool)
    if not long_mask.any():
        return pd.DataFrame({0: first}, index=text.index)
    long_values = text[long_mask]
    parts = {value: _split(value, limit) for value in pd.unique(long_values)}
    width = max(len(p) for p in parts.values())
    padded = {value: p + [None] * (width - len(p)) for value, p in parts.items()}
    table = pd.DataFrame.from_dict(padded, orient="index").reindex(long_values.to_numpy())
    first.iloc[np.flatnonzero(long_mask)] = table[0].to_numpy()
    columns: dict[int, pd.Series] = {0: first}
    for k in range(1, width):
        column = pd.Series(None, index=text.index, dtype=text.dtype)
        column.iloc[np.flatnonzero(long_mask)] = table[k].to_numpy()
        columns[k] = column
    return pd.DataFrame(columns, index=text.index)


def supp_qnams(variable: str, n: int) -> list[str]:
    """QNAMs of the ``n`` continuations of ``variable`` (SDTMIG 3.4 §4.5.3.2): ``AETERM1``, ``AETERM2``...

    The IG appends a 1-digit integer, beginning with 1, to the variable name; when the name already has
    8 characters its last character is replaced (``AEACNOTH`` -> ``AEACNOT1``, ``AEACNOT2``). Beyond the
    IG's 1-digit suffix (text over 2000 characters) the same rule is extended: the name is shortened
    so that name + number fit in 8 characters (``AEACNO10``). The same names serve as the extra
    columns of TS and CO (``TSVAL1``, ``COVAL1``).
    """
    if not isinstance(variable, str) or not _NAME.fullmatch(variable):
        raise ValueError(
            f"variable must be an SDTM variable name (1-8 upper-case letters/digits), got {variable!r}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if len(str(n)) > 7:
        raise ValueError(f"n = {n} continuations cannot be named within 8 characters")
    return [variable[: 8 - len(str(i))] + str(i) for i in range(1, n + 1)]


def supp_qlabels(label: str, n: int) -> list[str]:
    """QLABELs of the ``n`` continuations: the variable's own label for each (SDTMIG 3.4 §4.5.3.2).

    The IG gives every continuation the original domain variable label (e.g. "Reported Term for the
    Adverse Event" for AETERM1 and AETERM2), not a numbered one.
    """
    if not isinstance(label, str) or not label.strip() or len(label) > _MAX_LABEL:
        raise ValueError(f"label must be non-empty text of at most {_MAX_LABEL} characters, got {label!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return [label] * n


@dataclass(frozen=True, eq=False)
class SuppContinuation:
    """Long text split for a domain variable and its SUPP-- records (SDTMIG 3.4 §4.5.3.2).

    ``parent`` holds the values to keep in the variable (at most ``limit`` characters, index of the
    input); ``supp`` one row per continuation with columns QNAM, QLABEL, QVAL, indexed by the index
    label of the parent record, in record order then QNAM order.
    """

    parent: pd.Series
    supp: pd.DataFrame


def split_to_supp(
    values: pd.Series, variable: str, label: str, limit: int = SAS_V5_MAX_CHAR
) -> SuppContinuation:
    """Split ``values`` for the domain variable ``variable`` and build its SUPP-- continuation rows.

    SDTMIG 3.4 §4.5.3.2: the first part stays in the variable, each continuation becomes a SUPP--
    record with QNAM from :func:`supp_qnams`, QLABEL = the variable's label (:func:`supp_qlabels`)
    and QVAL = the chunk (split as :func:`split_long_text` does). The caller adds STUDYID, RDOMAIN,
    USUBJID, IDVAR/IDVARVAL and QORIG from the parent record the index points to.
    """
    parts = split_long_text(values, limit)
    n = parts.shape[1] - 1
    qnams = supp_qnams(variable, n)
    qlabels = supp_qlabels(label, n)
    parent = parts[0].rename(values.name)
    continuations = parts.iloc[:, 1:]
    # row-major order of the present chunks: record order, then QNAM order
    positions, k = np.nonzero(continuations.notna().to_numpy())
    supp = pd.DataFrame(
        {
            "QNAM": np.asarray(qnams, dtype=object)[k],
            "QLABEL": np.asarray(qlabels, dtype=object)[k],
            "QVAL": continuations.to_numpy(dtype=object)[positions, k],
        },
        index=values.index[positions],
    )
    return SuppContinuation(parent=parent, supp=supp)


def continuation_columns(values: pd.Series, variable: str, limit: int = SAS_V5_MAX_CHAR) -> pd.DataFrame:
    """Long text as extra columns ``<VAR>``, ``<VAR>1``..``<VAR>n`` of the dataset itself.

    Used where the IG continues text in the same record rather than in SUPP--: TS (SDTMIG 3.4 TS
    assumption 4: TSVAL, TSVAL1-TSVALn) and CO (§5.1: COVAL, COVAL1-COVALn). Only as many columns as
    the longest value needs; split as :func:`split_long_text`, §4.5.3.2.
    """
    parts = split_long_text(values, limit)
    names = [variable, *supp_qnams(variable, parts.shape[1] - 1)]
    return parts.set_axis(names, axis=1)


def ts_value_columns(values: pd.Series, limit: int = SAS_V5_MAX_CHAR) -> pd.DataFrame:
    """TSVAL and, for values over ``limit`` characters, TSVAL1..TSVALn (SDTMIG 3.4 TS assumption 4).

    "If TSVAL is >200 characters, then it should be split into multiple variables, TSVAL-TSVALn"
    (TS assumption 4, referring to §4.5.3.2); only as many columns as the longest value needs.
    """
    return continuation_columns(values, "TSVAL", limit)
