"""What `pip install .` ships: every folder inside an installed package that Python could
import (an identifier, holding files) is listed in pyproject's `packages`. setuptools warns
"Package would be ignored" for one that is not, and leaves its files out of the wheel unless
package data says otherwise; the web view's `static/` and `templates/` once slipped through."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {"__pycache__"}


def test_every_importable_folder_of_an_installed_package_is_listed() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    unlisted = []
    for name, folder in setuptools["package-dir"].items():
        if name == "costalloc":
            continue
        for path in sorted((ROOT / folder).rglob("*")):
            relative = path.relative_to(ROOT / folder)
            if (path.is_dir() and all(part.isidentifier() for part in relative.parts)
                    and not SKIPPED & set(relative.parts)
                    and any(child.is_file() for child in path.iterdir())):
                dotted = ".".join((name, *relative.parts))
                if dotted not in listed:
                    unlisted.append(dotted)
    assert unlisted == []
    assert {"costalloc.reports.serving.web.static",
            "costalloc.reports.serving.web.templates"} <= listed
