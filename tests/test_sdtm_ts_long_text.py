"""TS: a parameter value over 200 characters continues in TSVAL1..n of the same record (SDTMIG 3.4 TS
assumption 4), not in SUPP--."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyreadstat
import yaml

from cdisc168.raw.forms import load_forms
from cdisc168.raw.load import load_raw
from cdisc168.sdtm.build import build_sdtm, load_specs
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import DEFAULT_MAPPINGS, load_study
from cdisc168.write.tabulation import write_tabulations

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
LONG = " ".join(["To evaluate the safety and tolerability of C-CAR168 in refractory autoimmune disease"] * 6)


def test_long_tsval_continues_in_tsval1_to_n(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(DEFAULT_MAPPINGS / "sdtm", mappings / "sdtm")
    ts = yaml.safe_load((mappings / "sdtm" / "TS.yaml").read_text(encoding="utf-8"))
    row = next(r for r in ts["rows"] if r.get("TSPARMCD") == "OBJPRIM")
    row["TSVAL"] = LONG
    (mappings / "sdtm" / "TS.yaml").write_text(yaml.safe_dump(ts, sort_keys=False), encoding="utf-8")

    study, forms = load_study(), load_forms()
    raw, _ = load_raw(FIXTURE, study, forms)
    result = build_sdtm(raw, study, forms, load_specs(mappings, forms), load_study_ct())
    assert "SUPPTS" not in result.datasets
    out = tmp_path / "xpt"
    write_tabulations(result.datasets, result.specs, out, dt.datetime(2026, 3, 31))
    data, meta = pyreadstat.read_xport(str(out / "ts.xpt"))
    assert {"TSVAL1", "TSVAL2"} <= set(data.columns)
    assert meta.column_names_to_labels["TSVAL1"] == "Parameter Value 1"
    record = data[data["TSPARMCD"] == "OBJPRIM"].iloc[0]
    parts = [record["TSVAL"], record["TSVAL1"], record["TSVAL2"]] + (
        [record["TSVAL3"]] if "TSVAL3" in data.columns else []
    )
    assert all(len(p) <= 200 for p in parts)
    assert "".join(parts) == LONG
    short = data[data["TSPARMCD"] == "TITLE"].iloc[0]
    assert short["TSVAL1"] == ""  # only the long value continues
