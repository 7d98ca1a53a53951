"""A build interrupted while it writes leaves the previous package untouched and no partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "raw"
CLI = [sys.executable, "-m", "cdisc168.cli"]


def _default_signals() -> None:
    """In the child: Ctrl-C handled as on a terminal, even when the test runs as a background job (a
    shell starts background jobs with SIGINT ignored, and the child would inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_build(out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "--quiet", "build", "--raw", str(FIXTURE), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_signals,
    )


def _wait_for_writing(out: Path, process: subprocess.Popen[bytes], timeout: float = 120.0) -> Path:
    """Block until the build has started writing XPT files into its staging folder; return that folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for staging in out.parent.glob(f".{out.name}.staging-*"):
            if any(staging.rglob("*.xpt")):
                return staging
        if process.poll() is not None:
            pytest.fail(
                f"the build ended before writing: {process.stderr.read().decode() if process.stderr else ''}"
            )
        time.sleep(0.02)
    process.kill()
    pytest.fail("the build never started writing")


def _previous_package(out: Path) -> bytes:
    out.mkdir(parents=True)
    content = b"the package of the previous data cut\n"
    (out / "previous.txt").write_bytes(content)
    return content


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_build_keeps_the_previous_package_and_cleans_up(tmp_path: Path, how: int) -> None:
    out = tmp_path / "submission"
    previous = _previous_package(out)
    process = _start_build(out)
    _wait_for_writing(out, process)
    os.kill(process.pid, how)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr.decode()
    assert "interrupted: nothing was written" in stderr.decode()
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]
    assert (out / "previous.txt").read_bytes() == previous
    assert not list(tmp_path.glob(".submission.*")), "no staging folder may be left behind"


def test_a_killed_build_leaves_no_partial_package_and_the_next_build_clears_its_leftovers(
    tmp_path: Path,
) -> None:
    out = tmp_path / "submission"
    previous = _previous_package(out)
    process = _start_build(out)
    staging = _wait_for_writing(out, process)
    process.kill()  # SIGKILL: no handler runs
    process.communicate(timeout=60)
    assert (out / "previous.txt").read_bytes() == previous
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]
    assert staging.exists(), "only the hidden staging folder of the killed run remains"

    rerun = subprocess.run(
        [*CLI, "--quiet", "build", "--raw", str(FIXTURE), "--out", str(out)], cwd=ROOT, capture_output=True
    )
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert not staging.exists()
    assert not (out / "previous.txt").exists()
    assert (out / "manifest.json").exists()
