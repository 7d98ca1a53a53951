"""Benchmark: the SDTM stage at scale (raw check, mapping, derivations, XPT writing).

Targets (issue "SDTM I"): the SDTM stage (raw check, mapping and derivations, schema checks) on 1,000
subjects <= 30 s and <= 4 GB peak RSS; 10,000 subjects completes on a 24 GB machine, cost growing
roughly linearly (10k/1k <= 12x). Writing XPT v5 is the package stage (DESIGN.md data flow) and is
timed separately. Prints stage timings, rows/s and peak memory.
Run: `.venv/bin/python benchmarks/bench_sdtm.py [--subjects 1000 10000]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import peak_rss_mb, stage

from cdisc168.check.schemas import check_sdtm
from cdisc168.raw.forms import load_forms
from cdisc168.raw.load import load_raw
from cdisc168.raw.synth.generate import write_synthetic
from cdisc168.sdtm.build import build_sdtm, load_specs
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study
from cdisc168.write.tabulation import write_tabulations

TARGET_1K_SECONDS = 30.0
TARGET_1K_RSS_MB = 4096.0


def run(n: int, work: Path) -> float:
    """One run on ``n`` synthetic subjects; returns the SDTM-stage seconds (raw check, map, schema checks)."""
    study, forms = load_study(), load_forms()
    raw_dir = work / f"raw{n}"
    write_synthetic(raw_dir, n, 168, study, forms)
    print(f"--- {n} subjects")
    state: dict = {}

    def records() -> int:
        return sum(len(d) for d in state["sdtm"].datasets.values())

    start = time.perf_counter()
    with stage("load + check raw", lambda: sum(len(f) for f in state["raw"].values())):
        state["raw"], _ = load_raw(raw_dir, study, forms)
    study_ct = load_study_ct()
    with stage("map + derive SDTM", records):
        state["sdtm"] = build_sdtm(
            state["raw"], study, forms, load_specs(study.mappings_dir, forms), study_ct
        )
    with stage("schema checks", records):
        check_sdtm(state["sdtm"], study_ct, studyid=study.studyid, reported=state["sdtm"].findings)
    seconds = time.perf_counter() - start
    with stage("write XPT v5 (package stage)", records):
        timestamp = dt.datetime.combine(study.data_cut, dt.time())
        write_tabulations(state["sdtm"].datasets, state["sdtm"].specs, work / f"xpt{n}", timestamp)
    for name, data in sorted(state["sdtm"].datasets.items(), key=lambda kv: -len(kv[1]))[:5]:
        print(f"    {name:<8} {len(data):>12,} records")
    print(f"SDTM stage {n} subjects: {seconds:.1f} s (without XPT writing), peak RSS {peak_rss_mb():.0f} MB")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cdisc168-bench-sdtm-"))
    times = {n: run(n, work) for n in args.subjects}
    ok = True
    if 1000 in times:
        ok &= times[1000] <= TARGET_1K_SECONDS
        print(f"1,000 subjects: {times[1000]:.1f} s vs target {TARGET_1K_SECONDS:.0f} s")
    if 1000 in times and 10000 in times:
        ratio = times[10000] / times[1000]
        ok &= ratio <= 12
        print(f"10k/1k cost ratio {ratio:.1f} (target <= 12)")
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
