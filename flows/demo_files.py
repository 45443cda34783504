"""The demo's folder: it writes only what it owns and never loses a file a person changed.

A folder is the demo's when it holds `.costalloc-demo`, a manifest of every file the demo wrote
there with its SHA-256. The demo writes into a new or empty folder (and marks it), or into one
it marked; any other folder is refused before anything is written. A run writes its files to a
scratch folder first, then, file by file:

- new to the folder, or unchanged since the demo wrote it: the new version goes in;
- changed since the demo wrote it, or never written by the demo: kept as it is, and said so;
- written by an earlier demo, unchanged, and no longer part of the demo: removed.

The warehouse and the reports a demo run produces are outputs, updated like any run's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from costalloc.core.errors import ConfigurationError

MARKER = ".costalloc-demo"
SCRATCH = ".costalloc-demo-new"


@dataclass
class DemoFolder:
    path: Path
    manifest: dict[str, str]  # file (relative, POSIX) → SHA-256 of what the demo wrote
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def scratch(self) -> Path:
        return self.path / SCRATCH

    def report(self) -> list[str]:
        """What happened to files already there: one line each for kept and removed."""
        lines = []
        if self.kept:
            lines.append(f"kept {len(self.kept)} file(s) in {self.path} that are not as the demo "
                         f"wrote them (yours): "
                         f"{_listed(self.kept)} (delete one to get the demo's version back)")
        if self.removed:
            lines.append(f"removed {len(self.removed)} file(s) an earlier demo wrote and this one "
                         f"no longer does: {_listed(self.removed)}")
        return lines


@contextmanager
def owned_folder(directory: Path) -> Iterator[DemoFolder]:
    """Claim `directory` (refused unless new, empty or the demo's), let the block write into
    `folder.scratch`, then move the files in by the rules above and record them."""
    folder = _claim(directory)
    shutil.rmtree(folder.scratch, ignore_errors=True)  # an interrupted run's; ours by name
    folder.scratch.mkdir()
    try:
        yield folder
        _move_in(folder)
    finally:
        shutil.rmtree(folder.scratch, ignore_errors=True)
        _save(folder)


def _claim(directory: Path) -> DemoFolder:
    marker = directory / MARKER
    if directory.exists() and not directory.is_dir():
        raise ConfigurationError(f"`{directory}` is a file; the demo needs a folder (--dir)")
    if marker.is_file():
        return DemoFolder(directory, _read_manifest(marker))
    if directory.exists() and any(directory.iterdir()):
        raise ConfigurationError(
            f"`{directory}` is not empty and was not made by `costalloc demo` (it has no "
            f"`{MARKER}` file); the demo writes only into a new or empty folder or one it made, "
            "so nothing was written: pass --dir with another folder")
    directory.mkdir(parents=True, exist_ok=True)
    folder = DemoFolder(directory, {})
    _save(folder)  # marked before anything else is written: an interrupted demo can re-run
    return folder


def _read_manifest(marker: Path) -> dict[str, str]:
    try:
        files = json.loads(marker.read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        files = None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ConfigurationError(
            f"`{marker}` is not the manifest `costalloc demo` writes; the demo can't tell which "
            "files in that folder are its own, so nothing was written: pass --dir with another "
            "folder, or delete the folder to start over")
    return dict(files)


def _move_in(folder: DemoFolder) -> None:
    produced = sorted(p.relative_to(folder.scratch).as_posix()
                      for p in folder.scratch.rglob("*") if p.is_file())
    for name in produced:
        source, target = folder.scratch / name, folder.path / name
        if target.exists() and (name not in folder.manifest
                                or _digest(target) != folder.manifest[name]):
            folder.kept.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = _digest(source)
        os.replace(source, target)
        folder.manifest[name] = digest
        folder.written.append(name)
    for name in sorted(set(folder.manifest) - set(produced)):
        target = folder.path / name
        if not target.exists():
            del folder.manifest[name]
        elif _digest(target) == folder.manifest[name]:
            target.unlink()
            del folder.manifest[name]
            folder.removed.append(name)
            _prune(target.parent, folder.path)


def _prune(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents up to `root` while they are empty."""
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _save(folder: DemoFolder) -> None:
    marker = folder.path / MARKER
    partial = marker.with_name(MARKER + ".partial")
    partial.write_text(json.dumps({
        "made_by": "costalloc demo",
        "about": "the files this folder's demo wrote, with their SHA-256; a file whose content "
                 "differs is yours and the demo leaves it alone",
        "files": dict(sorted(folder.manifest.items()))}, indent=1) + "\n")
    partial.replace(marker)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _listed(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
