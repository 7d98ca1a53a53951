"""Benchmark: synthetic raw data generation and raw input checking at scale.

Target (issue "Foundation"): 10,000 subjects generated in at most 60 s. Prints stage timings, rows/s
and peak memory. Run: `.venv/bin/python benchmarks/bench_synth.py [--subjects 10000] [--out DIR]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import stage

from cdisc168 import api
from cdisc168.raw.synth.generate import synthesize, write_forms
from cdisc168.study import load_study

TARGET_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=168)
    parser.add_argument("--out", type=Path, default=None, help="keep the generated CSVs here")
    args = parser.parse_args()
    study = load_study()
    frames: dict = {}

    def total_rows() -> int:
        return sum(len(f) for f in frames.values())

    start = time.perf_counter()
    with stage(f"synthesize {args.subjects} subjects", total_rows):
        frames.update(synthesize(args.subjects, args.seed, study))
    generate_seconds = time.perf_counter() - start
    for name, frame in sorted(frames.items(), key=lambda kv: -len(kv[1]))[:6]:
        print(f"    {name:<18} {len(frame):>12,} rows")
    out = args.out or Path(tempfile.mkdtemp(prefix="cdisc168-bench-")) / "raw"
    with stage("write CSV", total_rows):
        write_forms(frames, out)
    with stage("load + check raw", total_rows):
        checked = api.check_raw(out, study)
    counts = checked.findings.counts()
    print(f"raw findings: {counts}")
    verdict = "OK" if generate_seconds <= TARGET_SECONDS else "TOO SLOW"
    print(f"generation {generate_seconds:.1f} s vs target {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if generate_seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
