"""`costalloc demo` writes only what it owns: it refuses a folder it did not make, and a second
run keeps every file a person changed (and says so) while restoring the ones they deleted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from costalloc.flows.cli import main
from costalloc.flows.demo import write_demo
from costalloc.flows.demo_files import MARKER

pytestmark = pytest.mark.usefixtures("cli_environment")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest(folder: Path) -> dict[str, str]:
    files: dict[str, str] = json.loads((folder / MARKER).read_text())["files"]
    return files


def test_the_demo_refuses_a_folder_it_did_not_make(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "my-project"
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / "rules.yaml").write_text("rules: []  # months of work\n")
    (folder / "costalloc.yaml").write_text("warehouse: prod.duckdb\n")
    before = _snapshot(folder)

    assert main(["demo", "--dir", str(folder)]) == 2  # was: shutil.rmtree, then the demo
    err = capsys.readouterr().err
    assert f"`{folder}` is not empty and was not made by `costalloc demo`" in err
    assert "nothing was written" in err
    assert _snapshot(folder) == before

    (folder / MARKER).write_text("not the demo's manifest")  # a marker it can't read is not its
    assert main(["demo", "--dir", str(folder)]) == 2
    assert "is not the manifest `costalloc demo` writes" in capsys.readouterr().err
    assert _snapshot(folder) == {**before, MARKER: b"not the demo's manifest"}


@pytest.mark.slow  # writes the demo's 60,000 billing rows twice
def test_a_second_demo_keeps_what_a_person_changed_and_restores_what_they_deleted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "costalloc-demo"
    folder.mkdir()  # an empty folder is fine
    config = write_demo(folder)
    first = _snapshot(folder)
    manifest = _manifest(folder)
    assert set(manifest) == set(first) - {MARKER}  # every file it wrote, and only those
    assert all(hashlib.sha256(first[name]).hexdigest() == digest
               for name, digest in manifest.items())
    capsys.readouterr()

    edited_rules = first["rules.yaml"] + b"\n# our own rule for the data team\n"
    (folder / "rules.yaml").write_bytes(edited_rules)
    edited_config = first["costalloc.yaml"].replace(b"reports_dir: reports",
                                                    b"reports_dir: finance-pack")
    (folder / "costalloc.yaml").write_bytes(edited_config)
    (folder / "units.csv").unlink()
    (folder / "notes.md").write_text("our notes\n")  # a file the demo never wrote
    (folder / "budgets.yaml").write_bytes(first["budgets.yaml"])  # rewritten, same bytes
    # A file an earlier demo wrote that this one no longer does, untouched: it goes.
    stale = folder / "old" / "stale.csv"
    stale.parent.mkdir()
    stale.write_text("period,units\n")
    (folder / MARKER).write_text(json.dumps({"files": {
        **manifest, "old/stale.csv": hashlib.sha256(b"period,units\n").hexdigest()}}))

    assert write_demo(folder) == config
    out = capsys.readouterr().out
    assert (f"kept 2 file(s) in {folder} that are not as the demo wrote them (yours): "
            "costalloc.yaml, rules.yaml") in out
    assert "removed 1 file(s) an earlier demo wrote and this one no longer does: old/stale.csv" \
        in out
    second = _snapshot(folder)
    assert second["rules.yaml"] == edited_rules and second["costalloc.yaml"] == edited_config
    assert second["units.csv"] == first["units.csv"]  # deleted by the person: written again
    assert second["notes.md"] == b"our notes\n"
    assert not (folder / "old").exists()
    assert set(second) == set(first) | {"notes.md"}
    assert {name: data for name, data in second.items()
            if name not in ("rules.yaml", "costalloc.yaml", "notes.md", MARKER)} == {
        name: data for name, data in first.items()
        if name not in ("rules.yaml", "costalloc.yaml", MARKER)}
    # Still recorded as the demo wrote them, so the next run keeps them too.
    assert _manifest(folder) == manifest
    assert not (folder / ".costalloc-demo-new").exists()
