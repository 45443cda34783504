"""Paths named by data or by rules stay inside their root.

A manifest names its data files, a folder lists its files, a rules file names its usage
drivers; any of them could name `../../etc/passwd`. Such a path is checked here before
anything is opened: first by its text (`relative_key`), then, on a local disk, with symbolic
links resolved (`local_file`). A refusal quotes the entry as it was written (cut short) and
why, never anything read from where it points.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

from costalloc.core.errors import CostallocError

SHOWN_CHARACTERS = 120  # of an offending entry, in a message
_DECODINGS = 3  # `%252e` is `%2e` once decoded, `.` twice
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class OutsideRoot(CostallocError, ValueError):
    """A path from data or rules that would leave its root (a `ValueError` too, so a rule
    model's validator can raise it)."""

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(f"`{shown(entry)}` {reason}")
        self.entry = entry
        self.reason = reason


def shown(entry: str) -> str:
    """`entry` as a message quotes it: control characters escaped, at most SHOWN_CHARACTERS."""
    text = _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", entry)
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…"


def relative_key(entry: str) -> str:
    """`entry`, a path below some root, unchanged when its text alone keeps it there: not
    empty or absolute, no `..` segment (also URL-encoded), no backslash, no control character.
    Raises `OutsideRoot`."""
    if not entry:
        raise OutsideRoot(entry, "is empty")
    if _CONTROL.search(entry):
        raise OutsideRoot(entry, "holds a control character")
    if "\\" in entry:
        raise OutsideRoot(entry, "holds a backslash (a Windows separator that can hide `..`)")
    if entry.startswith("/") or _DRIVE.match(entry):
        raise OutsideRoot(entry, "is an absolute path")
    if ".." in entry.split("/"):
        raise OutsideRoot(entry, "climbs out of its folder with `..`")
    decoded = entry
    for _ in range(_DECODINGS):
        decoded = unquote(decoded)
        if ".." in decoded.replace("\\", "/").split("/") or decoded.startswith("/"):
            raise OutsideRoot(entry, "climbs out of its folder with a URL-encoded `..` or `/`")
    return entry


def local_file(root: Path | str, entry: str | Path, *, absolute_inside: bool = False) -> Path:
    """The real path of `entry` (relative to `root`) on a local disk, once `relative_key`
    passes and every symbolic link is resolved; it must still lie inside `root`'s real path.
    With `absolute_inside`, an absolute `entry` is accepted when it lies inside `root`.
    Nothing is opened. Raises `OutsideRoot`."""
    text = str(entry)
    real_root = Path(os.path.realpath(root))
    relative = text
    if absolute_inside and os.path.isabs(text):
        # Inside the root as written (or as resolved), then checked like any relative entry.
        named = Path(text)
        home = next((r for r in (Path(os.path.abspath(root)), real_root)
                     if named.is_relative_to(r)), None)
        if home is None:
            raise OutsideRoot(text, f"is an absolute path outside `{shown(str(root))}`")
        relative = named.relative_to(home).as_posix()
    real = Path(os.path.realpath(Path(root) / relative_key(relative)))
    if not real.is_relative_to(real_root):
        raise OutsideRoot(text, f"resolves outside `{shown(str(root))}` through a symbolic link")
    return real
