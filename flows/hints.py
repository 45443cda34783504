"""Commands costalloc suggests, written the way this process was started, so they run as
printed: `costalloc` when that is what the shell finds, else the path of the script that ran
(`.venv/bin/costalloc` after `make demo`), with `--config` when the configuration is not the
default one."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

DEFAULT_CONFIG = Path("costalloc.yaml")


def command(*words: object, config: Path | None = None) -> str:
    """`costalloc [--config FILE] words…`, quoted for a POSIX shell."""
    parts = [*_program()]
    if config is not None and _shown(config) != str(DEFAULT_CONFIG):
        parts += ["--config", _shown(config)]
    parts += [str(word) for word in words]
    return shlex.join(parts)


def _program() -> list[str]:
    on_path = shutil.which("costalloc")
    for script in (Path(sys.argv[0]), Path(sys.executable).parent / "costalloc"):
        if script.name == "costalloc" and script.is_file():
            if on_path is not None and Path(on_path).resolve() == script.resolve():
                return ["costalloc"]
            return [_shown(script, executable=True)]
    return [_shown(Path(sys.executable), executable=True), "-m", "costalloc.flows.cli"]


def _shown(path: Path, *, executable: bool = False) -> str:
    """`path` relative to the working directory when it is under it (shorter, and still right
    where the hint is read), else absolute. A relative executable gets a folder part, so the
    shell runs that file instead of searching the PATH."""
    absolute = path.absolute()
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    text = str(relative)
    if executable and os.sep not in text:
        text = f".{os.sep}{text}"
    return text
