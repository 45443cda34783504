"""The command line forgives where it can and is precise where it can't: global options before
or after the command, a range that runs backwards or a month that can't exist said so (exit 2),
an unknown source named as such, every read command before the first load pointed at the
command that makes the warehouse, folders that can't be written said in one paragraph, and
hints that run as printed. Through `main`, in this process."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from costalloc.flows import hints
from costalloc.flows.cli import _parser, main
from costalloc.warehouse.connection import connect

pytestmark = pytest.mark.usefixtures("cli_environment")

VENV_BIN = Path(sys.executable).parent


def _config(folder: Path, *, warehouse: bool) -> Path:
    """A configuration naming two sources; with `warehouse`, an empty warehouse beside it."""
    config = folder / "costalloc.yaml"
    config.write_text("warehouse: w.duckdb\nsources:\n"
                      "  - {name: aws-main, kind: aws-cur, uri: bucket/cur/main}\n"
                      "  - {name: gcp-main, kind: gcp-bigquery, uri: gcp/export}\n")
    if warehouse:
        connect(folder / "w.duckdb").close()
    return config


def _exit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(exit code, stderr) of one command, whether main returns or argparse exits."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = int(stop.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# --- global options anywhere -------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--config", "x.yaml", "-v", "backfill", "--period", "2026-10"],
    ["backfill", "--config", "x.yaml", "--period", "2026-10", "-v"],
    ["-v", "backfill", "--period", "2026-10", "--config", "x.yaml"],
    ["--config", "x.yaml", "explain", "5", "--period", "2026-10", "--verbose"],
    ["rules", "check", "r.yaml", "--config", "x.yaml", "-v"],
    ["rules", "--config", "x.yaml", "-v", "check", "r.yaml"],
    ["azure", "runs", "--scope", "s", "--export", "e", "--config", "x.yaml", "-v"],
])
def test_global_options_go_before_or_after_the_command(argv: list[str]) -> None:
    args = _parser().parse_args(argv)
    assert (args.config, args.verbose) == (Path("x.yaml"), True)


def test_an_option_before_the_command_is_not_reset_by_the_command() -> None:
    args = _parser().parse_args(["--config", "x.yaml", "summary", "--period", "2026-10"])
    assert (args.config, args.verbose) == (Path("x.yaml"), False)
    default = _parser().parse_args(["summary", "--period", "2026-10"])
    assert default.config == Path("costalloc.yaml")


def test_a_config_after_the_command_is_the_one_read(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit(["backfill", "--period", "2026-10", "--config", str(tmp_path / "x.yaml")],
                      capsys)
    assert code == 2  # was: `unrecognized arguments: --config`
    assert f"configuration file `{tmp_path / 'x.yaml'}` not found" in err


# --- ranges and months ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["summary"], ["backfill"], ["reallocate"], ["export", "allocated"], ["unit-cost"]])
def test_a_range_that_runs_backwards_is_refused_before_anything_is_read(
        command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "never-read.yaml")
    code, err = _exit(["--config", missing, *command, "--period", "2026-10", "--to", "2026-08"],
                      capsys)
    assert code == 2
    assert err.strip() == ("costalloc: --to 2026-08 is before --period 2026-10; a range runs "
                           "forward (--period 2026-08 --to 2026-10)")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-13", "billing period `2026-13` is impossible: there is no month 13"),
    ("2026-00", "billing period `2026-00` is impossible: there is no month 00"),
    ("2026-1", "billing period `2026-1` is not of the form YYYY-MM"),
])
def test_an_impossible_month_is_called_impossible(text: str, expected: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit(["summary", "--period", text], capsys)
    assert code == 2 and expected in err


def test_a_port_that_cannot_exist_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for port in ("70000", "0", "-1", "http"):
        code, err = _exit(["serve", "--port", port], capsys)
        assert code == 2 and f"`{port}` is not a TCP port: ports run 1 to 65535" in err


# --- sources -------------------------------------------------------------------------------------

def test_an_unknown_source_is_no_such_source(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, warehouse=True)
    code, err = _exit(["--config", str(config), "explain", "2360", "--period", "2026-10",
                       "--source", "aws"], capsys)
    assert code == 2
    assert err.strip() == ("costalloc: no such source `aws`; the configuration names "
                           "`aws-main`, `gcp-main`")
    code, err = _exit(["--config", str(config), "explain", "2360", "--period", "2026-10",
                       "--source", "aws-main"], capsys)
    assert code == 1 and "no line item 2360 in source `aws-main` in 2026-10" in err


# --- before the first load ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["summary", "--period", "2026-10"],
    ["review", "--period", "2026-10"],
    ["forecast", "--from", "2026-11"],
    ["unit-cost", "--period", "2026-10"],
    ["explain", "5", "--period", "2026-10"],
    ["export", "allocated", "--period", "2026-10"],
    ["rules", "check", "RULES", "--period", "2026-10"],
    ["rules", "diff", "RULES", "RULES", "--period", "2026-10"],
])
def test_every_read_command_before_the_first_load_says_how_to_make_the_warehouse(
        command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, warehouse=False)
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    argv = [str(tmp_path / "rules.yaml") if word == "RULES" else word for word in command]
    code, err = _exit([*argv, "--config", str(config)], capsys)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"costalloc: no warehouse yet at `{tmp_path / 'w.duckdb'}`; run `")
    assert " backfill --period " in last and last.endswith("` first (it loads and allocates the "
                                                           "months you name)")
    assert not (tmp_path / "w.duckdb").exists()  # and none was made by asking


# --- folders that can't be written -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_export_to_a_file_or_an_unwritable_folder_is_one_paragraph(
        fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, warehouse=True)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    base = ["--config", str(config), "export", "allocated", "--period", "2026-10", "--format", fmt]

    code, err = _exit([*base, "--out", str(a_file)], capsys)
    assert (code, err.strip()) == (2, f"costalloc: --out `{a_file}` is a file; name a folder (the "
                                      "files are written inside it); nothing was written")
    assert a_file.read_text() == "mine"

    under_a_file = a_file / "reports"  # was: ResourceInUseException from the rollback
    code, err = _exit([*base, "--out", str(under_a_file)], capsys)
    assert code == 1
    assert err.startswith("costalloc: could not write `") and "Not a directory" in err
    assert len(err.strip().splitlines()) == 1


def test_a_failed_workbook_leaves_no_partial_file(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from costalloc.reports.finance import workbook

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "x.partial.xlsx"))

    monkeypatch.setattr(workbook, "_reconciliation", disk_full)
    config = _config(tmp_path, warehouse=True)
    code, err = _exit(["--config", str(config), "export", "allocated", "--period", "2026-10",
                       "--format", "xlsx", "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and "No space left on device" in err
    assert list((tmp_path / "out").iterdir()) == []


# --- hints that run as printed --------------------------------------------------------------------

def test_a_hint_names_the_program_the_way_the_shell_finds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(VENV_BIN.parent.parent)  # the repository, where `make demo` runs
    monkeypatch.setattr(sys, "argv", [str(VENV_BIN / "costalloc")])
    config = Path("costalloc-demo/costalloc.yaml").absolute()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # costalloc is not on the PATH
    assert hints.command("summary", "--period", "2026-10", config=config) == (
        f"{VENV_BIN.relative_to(Path.cwd())}/costalloc --config costalloc-demo/costalloc.yaml "
        "summary --period 2026-10")
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")  # an activated venv
    assert hints.command("summary", config=Path("costalloc.yaml")) == "costalloc summary"
    monkeypatch.chdir(tmp_path)  # elsewhere: the program's absolute path; quoted when needed
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    spaced = tmp_path / "my demo" / "costalloc.yaml"
    assert hints.command("review", config=spaced) == (
        f"{VENV_BIN}/costalloc --config 'my demo/costalloc.yaml' review")
    outside = Path("/etc/costalloc it.yaml")
    assert hints.command("review", config=outside) == (
        f"{VENV_BIN}/costalloc --config {shlex.quote(str(outside))} review")


def test_a_printed_hint_runs_as_printed(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my rules").mkdir()
    rules = tmp_path / "my rules" / "rules.yaml"
    rules.write_text("rules:\n  - id: prod\n    when: {tag.env: prod}\n"
                     "    set: {environment: production}\n")
    config = _config(tmp_path, warehouse=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(VENV_BIN / "costalloc")])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    hint = hints.command("rules", "check", rules, config=config)
    assert hint.startswith(f"{VENV_BIN}/costalloc ")
    ran = subprocess.run(hint, shell=True, cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(f"{rules}: OK — 1 rule(s)")
