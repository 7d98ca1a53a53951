"""``manifest.json``: every file of the package with its size and SHA-256, so a receiver can prove that
what arrived is what was built (eCTD practice: checksums per file; DESIGN.md "Outputs").

The manifest lists files by their POSIX path relative to the package root, sorted, and carries no
wall-clock time, so two builds from the same inputs give the same manifest bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes as lower-case hex, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(root: Path, *, studyid: str, data_cut: str) -> dict[str, Any]:
    """The manifest of every regular file under ``root`` (except the manifest itself), sorted by path."""
    files = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix() != MANIFEST_NAME),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    return {
        "study": studyid,
        "data_cut": data_cut,
        "algorithm": "SHA-256",
        "files": [
            {"path": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": sha256_file(p)}
            for p in files
        ],
    }


def write_manifest(root: Path, *, studyid: str, data_cut: str) -> Path:
    """Write ``root/manifest.json`` (UTF-8, two-space indent, newline at the end) and return its path."""
    manifest = build_manifest(root, studyid=studyid, data_cut=data_cut)
    target = root / MANIFEST_NAME
    target.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def verify_manifest(root: Path) -> list[str]:
    """Problems between ``root/manifest.json`` and the files on disk (empty = the package is intact)."""
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    actual = build_manifest(root, studyid=manifest["study"], data_cut=manifest["data_cut"])
    found = {entry["path"]: entry for entry in actual["files"]}
    problems = [
        f"{path}: listed in the manifest but missing" for path in sorted(listed.keys() - found.keys())
    ]
    problems += [f"{path}: present but not in the manifest" for path in sorted(found.keys() - listed.keys())]
    for path in sorted(listed.keys() & found.keys()):
        if listed[path] != found[path]:
            problems.append(f"{path}: size or SHA-256 differs from the manifest")
    return problems
