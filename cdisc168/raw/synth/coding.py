"""The SYNTHETIC sponsor coding table of the synthetic raw data (``mappings/raw/coding.yaml``).

ae.csv and cm.csv arrive dictionary-coded, as an EDC with a coding module delivers them (STUDY.md
"Decisions": raw forms carry dictionary coding). The table imitates MedDRA (LLT → PT → HLT → HLGT → SOC)
and WHODrug with ATC classes; the MedDRA codes in it are synthetic (9 digits starting with 9) and it
is not an extract of either dictionary. Its ``mimics`` versions must equal study.yaml ``standards``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cdisc168.study import Study

MEDDRA_COLUMNS = (
    "AELLT",
    "AELLTCD",
    "AEDECOD",
    "AEPTCD",
    "AEHLT",
    "AEHLTCD",
    "AEHLGT",
    "AEHLGTCD",
    "AEBODSYS",
    "AEBDSYCD",
    "AESOC",
    "AESOCCD",
)
WHODRUG_COLUMNS = ("CMDECOD", "CMCLAS", "CMCLASCD")


class CodingTableError(ValueError):
    """The coding table is malformed or does not match the study; the message names the key."""


@dataclass(frozen=True)
class CodingTables:
    """``meddra``: one row per LLT (index = LLT name) with the ae.csv coding columns;
    ``whodrug``: one row per upper-case verbatim (index) with CMDECOD and its ATC level-4 class
    (CMCLAS text, CMCLASCD code)."""

    meddra: pd.DataFrame
    whodrug: pd.DataFrame


def _meddra(data: dict[str, Any], where: str) -> pd.DataFrame:
    socs: dict[str, int] = data["socs"]
    hlgts: dict[str, dict[str, Any]] = data["hlgts"]
    hlts: dict[str, dict[str, Any]] = data["hlts"]
    rows = []
    for pt, spec in data["pts"].items():
        hlt = spec["hlt"]
        if hlt not in hlts or hlts[hlt]["hlgt"] not in hlgts or hlgts[hlts[hlt]["hlgt"]]["soc"] not in socs:
            raise CodingTableError(f"{where}.pts.{pt}: broken hierarchy above HLT {hlt!r}")
        hlgt = hlts[hlt]["hlgt"]
        soc = hlgts[hlgt]["soc"]
        llts = {pt: spec["code"], **spec.get("llts", {})}
        above = (pt, spec["code"], hlt, hlts[hlt]["code"], hlgt, hlgts[hlgt]["code"])
        # The raw form repeats the primary SOC as body system (AEBODSYS) and as SOC (AESOC).
        rows.extend((llt, code, *above, soc, socs[soc], soc, socs[soc]) for llt, code in llts.items())
    frame = pd.DataFrame(rows, columns=list(MEDDRA_COLUMNS)).set_index("AELLT", drop=False)
    if not frame.index.is_unique:
        raise CodingTableError(f"{where}: an LLT appears twice")
    codes = pd.concat([frame[c] for c in MEDDRA_COLUMNS if c.endswith("CD")])
    if not codes.astype(str).str.fullmatch(r"9[0-9]{8}").all():
        raise CodingTableError(f"{where}: every synthetic code must have 9 digits starting with 9")
    return frame


def _whodrug(data: dict[str, Any], where: str) -> pd.DataFrame:
    classes: dict[str, str] = data["atc_classes"]
    rows = []
    for decod, spec in data["drugs"].items():
        atc = spec["atc"]
        if atc[:5] not in classes:
            raise CodingTableError(f"{where}.drugs.{decod}: ATC class {atc[:5]!r} not in atc_classes")
        rows.extend((str(v).upper(), decod, classes[atc[:5]], atc[:5]) for v in spec["verbatims"])
    frame = pd.DataFrame(rows, columns=["CMTRT", *WHODRUG_COLUMNS]).set_index("CMTRT")
    if not frame.index.is_unique:
        raise CodingTableError(f"{where}: a verbatim is coded twice")
    return frame


def load_coding(study: Study, path: Path | str | None = None) -> CodingTables:
    """Load the synthetic coding table (default ``<mappings>/raw/coding.yaml``) and check that the
    dictionary versions it mimics are the ones study.yaml declares."""
    file = Path(path) if path is not None else study.mappings_dir / "raw" / "coding.yaml"
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CodingTableError(f"{file}: cannot read the coding table: {exc}") from exc
    for part, standard in (("meddra", "meddra"), ("whodrug", "whodrug")):
        if str(data[part]["mimics"]) != study.standards[standard]:
            raise CodingTableError(
                f"{file}: {part}.mimics {data[part]['mimics']!r} differs from study.yaml "
                f"standards.{standard} {study.standards[standard]!r}"
            )
    return CodingTables(
        meddra=_meddra(data["meddra"], f"{file}: meddra"),
        whodrug=_whodrug(data["whodrug"], f"{file}: whodrug"),
    )


def code_meddra(llt: pd.Series, tables: CodingTables) -> pd.DataFrame:
    """The ae.csv coding columns for each LLT name (an unknown LLT is a generator bug: error)."""
    unknown = sorted(set(llt) - set(tables.meddra.index))
    if unknown:
        raise CodingTableError(f"LLTs missing from the synthetic coding table: {unknown}")
    return tables.meddra.loc[llt.to_numpy(), list(MEDDRA_COLUMNS)].reset_index(drop=True).set_axis(llt.index)


def code_whodrug(verbatim: pd.Series, tables: CodingTables) -> pd.DataFrame:
    """CMDECOD and the ATC class (CMCLAS text, CMCLASCD code) for each CMTRT verbatim."""
    key = verbatim.str.upper()
    unknown = sorted(set(key) - set(tables.whodrug.index))
    if unknown:
        raise CodingTableError(f"verbatims missing from the synthetic coding table: {unknown}")
    return tables.whodrug.loc[key.to_numpy()].reset_index(drop=True).set_axis(verbatim.index)
