"""The example outputs in README.md and docs/ are what the demo prints now: every block equals a
fresh run of the commands a new user runs (`tests/docs/examples.py`), so they cannot drift."""

from __future__ import annotations

import pytest

from tests.docs.examples import EXAMPLES, ROOT, blocks, fresh_examples, pages, rewrite

REGENERATE = "run `.venv/bin/python -m tests.docs.examples` and commit the pages it rewrites"


def _shown() -> dict[str, list[tuple[str, str]]]:
    """(page, body) of every example block, by example name."""
    shown: dict[str, list[tuple[str, str]]] = {}
    for page in pages():
        for name, bodies in blocks(page.read_text()).items():
            shown.setdefault(name, []).extend((str(page.relative_to(ROOT)), body) for body in bodies)
    return shown


def test_every_block_names_an_example_and_every_example_is_shown() -> None:
    assert set(_shown()) == {example.name for example in EXAMPLES}


def test_a_block_is_rewritten_whole_and_an_unknown_name_is_refused() -> None:
    page = "before\n<!-- example: review -->\n```\nold\n```\n<!-- /example -->\nafter\n"
    assert rewrite(page, {"review": "```\nnew\n```\n"}) == (
        "before\n<!-- example: review -->\n```\nnew\n```\n<!-- /example -->\nafter\n")
    with pytest.raises(KeyError, match="no example called `reviews`"):
        rewrite(page.replace("review", "reviews"), {"review": ""})


@pytest.mark.slow  # runs the demo (Prefect, 60,000 billing rows) and a backfill
def test_the_examples_in_the_docs_are_what_the_demo_prints_now() -> None:
    fresh = fresh_examples()
    stale = sorted({page for name, shown in _shown().items()
                    for page, body in shown if body != fresh[name]})
    assert stale == [], f"examples differ from a fresh run in {', '.join(stale)}: {REGENERATE}"
    # The demo's and init's suggestions were run exactly as printed to make these examples (a
    # failing one stops `fresh_examples`); after `make demo` they name the venv's script, since
    # a bare `costalloc` is not on the PATH.
    assert "try:           .venv/bin/costalloc --config costalloc-demo/costalloc.yaml" in fresh["demo-next"]
    assert "next:  .venv/bin/costalloc --config starter/costalloc.yaml" in fresh["init"]
