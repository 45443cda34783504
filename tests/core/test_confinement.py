"""Paths from data or rules: refused by their text, or on disk once links are resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from costalloc.core.confinement import SHOWN_CHARACTERS, OutsideRoot, local_file, relative_key


@pytest.mark.parametrize("entry", ["data/x.parquet", "a/b/c.csv.gz", "BILLING_PERIOD=2026-10/x",
                                   "x%20y.csv", "..x/y..", "./data/x"])
def test_ordinary_relative_paths_pass_unchanged(entry: str) -> None:
    assert relative_key(entry) == entry


@pytest.mark.parametrize(("entry", "reason"), [
    ("", "is empty"),
    ("../x", "with `..`"),
    ("data/../../x", "with `..`"),
    ("..", "with `..`"),
    ("/etc/passwd", "absolute"),
    ("C:/Windows/x", "absolute"),
    ("data\\..\\x", "backslash"),
    ("%2e%2e/x", "URL-encoded"),
    ("data/%2E%2e/%2e./x", "URL-encoded"),
    ("%252e%252e/x", "URL-encoded"),
    ("..%2fx", "URL-encoded"),
    ("%2fetc/passwd", "URL-encoded"),
    ("data/\x00x", "control character"),
])
def test_paths_that_leave_their_root_by_their_text_are_refused(entry: str, reason: str) -> None:
    with pytest.raises(OutsideRoot, match=reason) as raised:
        relative_key(entry)
    assert raised.value.entry == entry


def test_a_refusal_quotes_the_entry_cut_short_with_control_characters_escaped() -> None:
    with pytest.raises(OutsideRoot) as raised:
        relative_key("../" + "x" * 1000 + "\n")
    quoted = str(raised.value).split("`")[1]
    assert quoted.startswith("../xxx") and quoted.endswith("…")
    assert len(quoted) == SHOWN_CHARACTERS + 1
    with pytest.raises(OutsideRoot, match=r"`a\\x0ab` holds a control character"):
        relative_key("a\nb")


def test_local_files_resolve_links_and_must_stay_inside(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    (root / "drivers").mkdir(parents=True)
    (root / "drivers" / "tokens.csv").write_text("period,target,quantity\n")
    (tmp_path / "secret.csv").write_text("secret\n")
    assert local_file(root, "drivers/tokens.csv") == (root / "drivers" / "tokens.csv").resolve()
    assert local_file(root, "drivers/missing.csv").name == "missing.csv"  # nothing is opened
    (root / "drivers" / "alias.csv").symlink_to("tokens.csv")
    assert local_file(root, "drivers/alias.csv").name == "tokens.csv"
    (root / "drivers" / "leak.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(OutsideRoot, match="symbolic link"):
        local_file(root, "drivers/leak.csv")
    (root / "linked").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(OutsideRoot, match="symbolic link"):
        local_file(root, "linked/secret.csv")


def test_absolute_paths_pass_only_when_asked_and_only_inside(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    root.mkdir()
    inside = root / "tokens.csv"
    with pytest.raises(OutsideRoot, match="absolute"):
        local_file(root, str(inside))
    assert local_file(root, str(inside), absolute_inside=True) == inside.resolve()
    with pytest.raises(OutsideRoot, match="absolute path outside"):
        local_file(root, str(tmp_path / "secret.csv"), absolute_inside=True)
    with pytest.raises(OutsideRoot, match=r"`\.\.`"):
        local_file(root, f"{root}/../secret.csv", absolute_inside=True)
    # a root reached through a link is the same root
    (tmp_path / "alias").symlink_to(root, target_is_directory=True)
    assert local_file(tmp_path / "alias", str(inside), absolute_inside=True) == inside.resolve()
