"""RNA-seq sample manifest: metadata of the research blood samples sequenced for about half of the
infused subjects (pre-LD baseline D-7, D7, D28 and month 3). Only the manifest is raw data; the
files it points to are not part of the submission (STUDY.md decisions: BE/BS out of scope).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date
from cdisc168.raw.synth.disease_course import raw_forms

RNASEQ_VISITS = ("BASELINE", "DAY 7", "DAY 28", "MONTH 3")
P_SUBSTUDY = 0.5
SAMPLE_PREFIX = "RNA"
SAMPLE_NUMBERS = (1_000_000, 10_000_000)  # opaque 7-digit biobank numbers
FILE_FOLDER, FILE_SUFFIX = "rnaseq/", ".fastq.gz"


def make_rnaseq_manifest(ctx: SynthContext) -> pd.DataFrame:
    """rnaseq_manifest.csv: one row per sequenced sample (attended visits of the sub-study subjects)."""
    rng = ctx.rng("rnaseq_manifest")
    subj = ctx.subjects.loc[ctx.subjects["PATH"] == "INFUSED", ["SITEID", "SUBJID"]]
    subj = subj[rng.uniform(size=len(subj)) < P_SUBSTUDY]
    rows = ctx.visits[ctx.visits["VISIT"].isin(RNASEQ_VISITS)].merge(
        subj, on=["SITEID", "SUBJID"], how="inner"
    )
    low, high = SAMPLE_NUMBERS
    numbers = rng.choice(high - low, size=len(rows), replace=False) + low
    sample_id = SAMPLE_PREFIX + pd.Series(numbers).astype(str)
    frame = pd.DataFrame(
        {
            "SITEID": rows["SITEID"].to_numpy(),
            "SUBJID": rows["SUBJID"].to_numpy(),
            "VISIT": rows["VISIT"].to_numpy(),
            "SMPDT": iso_date(rows["VISDT"]),
            "NOMDAY": rows["NOMDAY"].to_numpy(dtype=np.int64),
            "SAMPLEID": sample_id.to_numpy(),
            "FILEREF": (FILE_FOLDER + sample_id + FILE_SUFFIX).to_numpy(),
        }
    )
    return finish_form(frame, raw_forms()["rnaseq_manifest"], ctx.study, sort_by=["SMPDT"])
