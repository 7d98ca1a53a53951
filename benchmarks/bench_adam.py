"""Benchmark: the ADaM stage at scale, per dataset, on synthetic data run through the SDTM stage.

Target (issue "ADaM"): the ADaM stage on 1,000 subjects <= 30 s; 10,000 subjects completes with the
time printed. Run: `.venv/bin/python benchmarks/bench_adam.py [--subjects 1000]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import peak_rss_mb, stage

from cdisc168.adam.build import builders
from cdisc168.adam_spec import conform, load_adam_specs
from cdisc168.raw.forms import load_forms
from cdisc168.raw.load import load_raw
from cdisc168.raw.synth.generate import write_synthetic
from cdisc168.sdtm.build import build_sdtm, load_specs
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study

TARGET_1K_SECONDS = 30.0


def run(n: int, work: Path) -> float:
    study, forms = load_study(), load_forms()
    raw_dir = work / f"raw{n}"
    write_synthetic(raw_dir, n, 168, study, forms)
    raw, _ = load_raw(raw_dir, study, forms)
    sdtm = build_sdtm(raw, study, forms, load_specs(study.mappings_dir, forms), load_study_ct()).datasets
    specs = load_adam_specs(study.mappings_dir)
    print(f"--- {n} subjects ({sum(len(d) for d in sdtm.values()):,} SDTM records)")
    adam: dict = {}
    start = time.perf_counter()
    for name, builder in builders():
        with stage(f"build {name}", lambda name=name: len(adam[name])):
            adam[name] = conform(builder(sdtm, adam, study), specs[name])
    seconds = time.perf_counter() - start
    print(f"ADaM stage {n} subjects: {seconds:.1f} s, peak RSS {peak_rss_mb():.0f} MB")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cdisc168-bench-adam-"))
    times = {n: run(n, work) for n in args.subjects}
    ok = times.get(1000, 0.0) <= TARGET_1K_SECONDS
    if 1000 in times:
        print(f"1,000 subjects: {times[1000]:.1f} s vs target {TARGET_1K_SECONDS:.0f} s")
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
