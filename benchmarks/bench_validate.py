"""Benchmark: the conformance rules on a whole SDTM + ADaM submission, per rule scope.

Target (issue "Validation and QC"): validating the 10,000-subject SDTM + ADaM takes <= 30 s.

Two modes:

* ``--subjects N [N ...]``: synthetic raw data → SDTM → ADaM in memory (not timed as validation), the
  datasets as they are written (SDTM variables only, ADaM dates as SAS numbers), then the rule
  engine (timed), as ``cdisc168 build`` runs it.
* ``--package DIR``: ``cdisc168 validate DIR`` as a reviewer runs it on a folder: reading the XPT files and
  define.xml (timed separately) and the rules. ``--subjects N --write DIR`` writes such a folder
  (``DIR/N/{sdtm,adam}``) first, in its own process (10,000 subjects need the memory).

Run alone (10,000 subjects need about 19 GB): ``.venv/bin/python benchmarks/bench_validate.py --subjects 1000``.
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

from cdisc168.adam.build import build_adam
from cdisc168.adam_spec import load_adam_specs
from cdisc168.check.catalog import load_catalog
from cdisc168.check.folder import read_folder
from cdisc168.check.run import run_rules
from cdisc168.check.submission import Submission
from cdisc168.raw.forms import load_forms
from cdisc168.raw.load import load_raw
from cdisc168.raw.synth.generate import write_synthetic
from cdisc168.sdtm.build import build_sdtm, load_specs
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study
from cdisc168.write.analysis import to_sas_values, write_analysis
from cdisc168.write.tabulation import tabulation_frame, write_tabulations

TARGET_10K_SECONDS = 30.0


def _records(submission: Submission) -> int:
    return sum(len(frame) for frame in submission.datasets.values())


def _run_rules(submission: Submission, label: str) -> float:
    catalog = load_catalog()
    total = 0.0
    for scope in ("SDTM", "ADaM", "define"):
        rules = [r for r in catalog if r.scope == scope]
        start = time.perf_counter()
        with stage(f"{label}: {scope} rules ({len(rules)})", lambda: _records(submission)):
            result = run_rules(submission, rules)
        total += time.perf_counter() - start
        print(f"    {len(result.findings):,} findings, {len(result.not_applied)} rules not applied")
    print(f"{label}: all rules {total:.1f} s, peak RSS {peak_rss_mb():.0f} MB")
    return total


def _build(n: int, work: Path) -> tuple[dict, dict, dict, dict]:
    """SDTM and ADaM of ``n`` synthetic subjects (frames and specs), built in memory."""
    study, forms = load_study(), load_forms()
    raw_dir = work / f"raw{n}"
    write_synthetic(raw_dir, n, 168, study, forms)
    raw, _ = load_raw(raw_dir, study, forms)
    specs = load_specs(study.mappings_dir, forms)
    sdtm = build_sdtm(raw, study, forms, specs, load_study_ct()).datasets
    del raw
    adam_specs = load_adam_specs(study.mappings_dir)
    return sdtm, build_adam(sdtm, study, adam_specs), specs, adam_specs


def in_memory(n: int, work: Path) -> float:
    """Validation time of an ``n``-subject submission built in memory, as ``cdisc168 build`` runs it."""
    sdtm, adam, specs, adam_specs = _build(n, work)
    written = {}
    for name in list(sdtm):  # one copy at a time: the 10,000-subject datasets fill most of the memory
        frame = sdtm.pop(name)
        if len(frame):
            written[name] = tabulation_frame(name, frame, specs)
    for name in list(adam):
        frame = adam.pop(name)
        if len(frame):
            written[name] = to_sas_values(frame, adam_specs[name])
    with stage("metadata from the frames", lambda: len(written)):
        submission = Submission.from_frames(written)
    print(f"--- {n} subjects: {len(written)} datasets, {_records(submission):,} records")
    return _run_rules(submission, f"{n} subjects")


def write_package(n: int, work: Path, folder: Path) -> None:
    """Write the XPT files of an ``n``-subject submission into ``folder`` (for a ``--package`` run)."""
    sdtm, adam, specs, adam_specs = _build(n, work)
    timestamp = dt.datetime.combine(load_study().data_cut, dt.time())
    for name in list(sdtm):
        frame = sdtm.pop(name)
        if len(frame):
            with stage(f"write {name}", lambda frame=frame: len(frame)):
                write_tabulations({name: frame}, specs, folder / "sdtm", timestamp)
    for name in list(adam):
        frame = adam.pop(name)
        if len(frame):
            with stage(f"write {name}", lambda frame=frame: len(frame)):
                write_analysis({name: frame}, adam_specs, folder / "adam", timestamp)


def from_folder(package: Path) -> float:
    """Validation time of a package folder: reading plus rules."""
    start = time.perf_counter()
    with stage("read the folder (XPT, define.xml)"):
        reading = read_folder(package, ig=None)
    reading_seconds = time.perf_counter() - start
    print(
        f"--- {package}: {len(reading.submission.datasets)} datasets, {_records(reading.submission):,} records"
    )
    return reading_seconds + _run_rules(reading.submission, package.name)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, nargs="*", default=[])
    parser.add_argument("--package", type=Path, default=None, help="a package folder to validate from files")
    parser.add_argument(
        "--write", type=Path, default=None, help="also write the XPT files of --subjects here"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cdisc168-bench-validate-"))
    subjects = args.subjects or ([] if args.package else [1000])
    if args.write:
        for n in subjects:
            write_package(n, work, args.write / f"{n}")
        return 0
    times = {f"{n} subjects": in_memory(n, work) for n in subjects}
    if args.package:
        times[str(args.package)] = from_folder(args.package)
    for what, seconds in times.items():
        print(f"validation of {what}: {seconds:.1f} s")
    ok = times.get("10000 subjects", 0.0) <= TARGET_10K_SECONDS
    print("OK" if ok else f"TARGET MISSED (10,000 subjects > {TARGET_10K_SECONDS:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
