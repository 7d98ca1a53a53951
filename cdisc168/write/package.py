"""Atomic output folders: a package is written to a staging folder beside its target and moved into
place only when complete, so a failed or interrupted run never leaves a half-written package and the
previous package stays untouched until the new one is whole (DESIGN.md, "Outputs").
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class UnsafePathError(ValueError):
    """A relative path (from a spec or the data) would escape its output folder."""


def safe_join(root: Path, relative: str | Path) -> Path:
    """Join ``relative`` under ``root``, refusing absolute paths and ``..`` escapes."""
    rel = Path(relative)
    if rel.is_absolute():
        raise UnsafePathError(f"{relative!s}: absolute paths are not allowed inside {root}")
    target = (root / rel).resolve()
    base = root.resolve()
    if target != base and base not in target.parents:
        raise UnsafePathError(f"{relative!s}: escapes the output folder {root}")
    return target


def _remove_leftovers(final: Path) -> None:
    """Remove staging folders left by a run that was killed outright (SIGKILL, power loss)."""
    for pattern in (f".{final.name}.staging-*", f".{final.name}.old-*"):
        for leftover in final.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def atomic_folder(target: Path | str) -> Iterator[Path]:
    """Yield an empty staging folder; on normal exit it replaces ``target`` in one rename.

    On an exception (or an interrupt) the staging folder is removed and ``target`` is left as it was.
    The staging folder lives in the same parent directory so the final ``rename`` is atomic on POSIX.
    """
    final = Path(target).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(final)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        yield staging
        os.chmod(staging, 0o755)
        if final.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.rename(final, retired / final.name)
            os.rename(staging, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
