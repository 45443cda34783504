"""README.md is the front door: it fits on a page, and every link in it leads somewhere. (The pages
under docs/ are checked by `mkdocs build --strict` in `make docs`; the README is not a page of
the site, so its links are checked here.)"""

from __future__ import annotations

import re

from markdown.extensions.toc import slugify

from tests.docs.examples import ROOT

README = ROOT / "README.md"
LINK = re.compile(r"\]\((?P<target>[^)\s#]*)(?:#(?P<anchor>[^)\s]*))?\)")


def _anchors(markdown: str) -> set[str]:
    return {slugify(heading, "-") for heading in re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)}


def test_the_readme_fits_on_a_page() -> None:
    assert len(README.read_text().splitlines()) <= 200  # the reference lives in docs/


def test_every_relative_link_in_the_readme_leads_to_a_file_and_heading_that_exist() -> None:
    text = README.read_text()
    dead = []
    for match in LINK.finditer(text):
        target, anchor = match["target"], match["anchor"]
        if "://" in target:
            continue
        path = ROOT / target if target else README
        if not path.exists():
            dead.append(target)
        elif anchor and anchor not in _anchors(path.read_text()):
            dead.append(f"{target}#{anchor}")
    assert LINK.search(text) is not None
    assert dead == []
