"""Submission-level checks: the datasets every SDTM submission needs, and the Trial Summary parameters.

FDA Study Data Technical Rejection Criteria: 1734 (a TS dataset with the study start date SSTDTC) and
1736 (a DM dataset; for ADaM an ADSL, and a define.xml). SDTMIG 3.4 §7.6.1 (TS) and Appendix C1 list
the trial summary parameters; the catalog names the ones a submission is expected to carry.
"""

from __future__ import annotations

import pandas as pd

from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import check, dataset_failure, no_failures
from cdisc168.check.sdtm_rules import text
from cdisc168.check.submission import Submission


@check("datasets_present")
def check_datasets_present(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The datasets of ``params.datasets`` are in the submission (FDA Technical Rejection Criteria 1734,
    1736). A submission-level rule: it is judged once, on the first dataset of the scope, and each finding
    names the missing dataset."""
    names = submission.names(rule.scope)
    if not names or name != names[0]:
        return no_failures()
    missing = [d for d in rule.params["datasets"] if submission.get(d) is None]
    return (
        pd.DataFrame(
            {
                "row": [None] * len(missing),
                "dataset": missing,
                "message": [f"{d} is missing" for d in missing],
            }
        )
        if missing
        else no_failures()
    )


def _parameters(ts: pd.DataFrame) -> dict[str, set[str]]:
    """TSPARMCD → the TSVAL values given for it (an empty set when only TSVALNF is given)."""
    codes = text(ts["TSPARMCD"])
    values = text(ts["TSVAL"]) if "TSVAL" in ts.columns else pd.Series(None, index=ts.index, dtype=object)
    table = pd.DataFrame({"code": codes.astype(object), "value": values.astype(object)}).dropna(
        subset=["code"]
    )
    return {str(c): set(g["value"].dropna()) for c, g in table.groupby("code")}


@check("ts_parameters")
def check_ts_parameters(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """TS has a record for each parameter of ``params.parameters`` (TSVAL or a TSVALNF null flavor), when
    the parameters of ``params.when`` (TSPARMCD → TSVAL) hold (e.g. TDIGRP when HLTSUBJI = "N")."""
    frame = submission.datasets[name]
    if "TSPARMCD" not in frame.columns:
        return dataset_failure("TS has no TSPARMCD", variable="TSPARMCD")
    given = _parameters(frame)
    if any(str(v) not in given.get(str(k), set()) for k, v in rule.params.get("when", {}).items()):
        return no_failures()
    missing = [str(c) for c in rule.params["parameters"] if str(c) not in given]
    return (
        pd.DataFrame(
            {
                "row": [None] * len(missing),
                "variable": "TSPARMCD",
                "value": missing,
                "message": [f"TS has no {c} parameter" for c in missing],
            }
        )
        if missing
        else no_failures()
    )
