"""The example outputs in README.md and docs/, produced from the demo so they cannot drift.

`python -m tests.docs.examples` runs what a new user runs after cloning — `costalloc demo`, the
commands the demo suggests (exactly as it prints them), `forecast`, `rules check`, then
`costalloc init` on the demo's AWS export and the commands `init` suggests — in a temporary
folder, and rewrites every block between `<!-- example: NAME -->` and `<!-- /example -->` in
README.md and docs/*.md with that example's output. `tests/docs/test_examples.py` fails when a
committed block differs from a fresh run.

Two things in an output are not the product's: the temporary folder (shown as
`/home/you/costalloc`) and the run ids, which are new on every run (each is shown as a fixed
stand-in of the same length).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
SHOWN_ROOT = "/home/you/costalloc"  # where the reader's clone is, in the examples
PROGRAM = ".venv/bin/costalloc"  # how `make demo` runs it, and how the demo's hints read
DEMO = "costalloc-demo"
DEMO_CONFIG = f"{DEMO}/costalloc.yaml"
BLOCK = re.compile(r"(<!-- example: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /example -->)",
                   re.DOTALL)


@dataclass(frozen=True)
class Run:
    """One command as a person types it in the clone (`PROGRAM` + words), and what it printed."""

    words: tuple[str, ...]
    stdout: str
    stderr: str

    @property
    def command(self) -> str:
        return shlex.join([PROGRAM, *self.words])


Pick = Callable[[Run], str]


def _all(run: Run) -> str:
    return run.stdout


def _stderr(run: Run) -> str:
    """What a load or allocation reports goes to stderr (stdout is for what a command answers)."""
    return run.stderr


def _progress_in_a_fixed_order(run: Run) -> str:
    """The demo's output with the loads (which run in parallel, finishing in any order) sorted
    by source and period, each `allocated` line after its period's loads."""
    lines = run.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"\S+ \d{4}-\d\d: ", line))
    last = max(i for i, line in enumerate(lines) if line.startswith("allocated "))

    def order(line: str) -> tuple[str, int, str]:
        words = line.split()
        if line.startswith("allocated "):
            return (words[1], 1, "")
        return (words[1].rstrip(":"), 0, words[0])

    return "\n".join([*lines[:first], *sorted(lines[first:last + 1], key=order), *lines[last + 1:]])


def _from(start: str, until: str | None = None) -> Pick:
    """The lines from the first that starts with `start` up to (not including) the next one
    starting with `until` after it, or the end."""
    def pick(run: Run) -> str:
        lines = run.stdout.splitlines()
        begin = next(i for i, line in enumerate(lines) if line.startswith(start))
        end = next((i for i, line in enumerate(lines) if i > begin and until is not None
                    and line.startswith(until)), len(lines))
        return "\n".join(lines[begin:end]).rstrip()
    return pick


def _both(first: Pick, second: Pick) -> Pick:
    return lambda run: f"{first(run)}\n…\n{second(run)}"


@dataclass(frozen=True)
class Example:
    name: str
    run: str  # the key of the run in `run_all`'s answer
    pick: Pick = _all
    show_command: bool = True

    def render(self, runs: dict[str, Run]) -> str:
        run = runs[self.run]
        text = self.pick(run).rstrip("\n")
        head = f"$ {run.command}\n" if self.show_command else ""
        return f"```\n{head}{text}\n```\n"


EXAMPLES = (
    Example("demo", "demo", _progress_in_a_fixed_order),
    Example("demo-next", "demo", _from("warehouse:"), show_command=False),
    Example("review", "review"),
    Example("forecast", "forecast",
            _both(_from("Forecast of", "["), _from("[USD] experimentation", "[USD] platform"))),
    Example("forecast-assumptions", "forecast", _from("Assumptions"), show_command=False),
    Example("unit-cost", "unit-cost"),
    Example("explain", "explain"),
    Example("rules-check", "rules-check"),
    Example("init", "init"),
    Example("starter-check", "starter-check"),
    Example("starter-backfill", "starter-backfill", _stderr),
    Example("starter-summary", "starter-summary", _from("[USD]")),
)


def run_all(root: Path) -> dict[str, Run]:
    """Run the first hour in `root`, as a person does in their clone; every run by name."""
    (root / ".venv").symlink_to(Path(sys.executable).parents[1], target_is_directory=True)
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PREFECT_HOME": str(root / ".prefect"), "PREFECT_LOGGING_LEVEL": "ERROR",
           # as after `make demo`: the virtual environment is not activated
           "PATH": os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                   if p != venv_bin)}
    env.pop("PREFECT_API_URL", None)

    def run(*words: str) -> Run:
        done = subprocess.run([PROGRAM, *words], cwd=root, env=env, capture_output=True,
                              text=True, timeout=900, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`{shlex.join([PROGRAM, *words])}` exited {done.returncode}:\n"
                               f"{done.stderr[-2000:]}")
        return Run(words, done.stdout, done.stderr)

    def as_printed(line: str) -> tuple[str, ...]:
        """A command the product suggested, run exactly as it printed it."""
        words = shlex.split(line)
        if words[0] != PROGRAM:
            raise RuntimeError(f"a suggested command does not start with `{PROGRAM}`: {line}")
        return tuple(words[1:])

    runs = {"demo": run("demo", "--dir", DEMO)}
    suggested = [as_printed(line.removeprefix("try:").strip())
                 for line in _from("try:")(runs["demo"]).splitlines()]
    for words in suggested:
        runs[words[words.index("--config") + 2]] = run(*words)  # summary, review, unit-cost, explain
    runs["forecast"] = run("--config", DEMO_CONFIG, "forecast", "--from", "2026-11", "--months", "3")
    runs["rules-check"] = run("--config", DEMO_CONFIG, "rules", "check", f"{DEMO}/rules.yaml",
                              "--period", "2026-10")
    runs["init"] = run("init", "--from", f"{DEMO}/bucket/cur/{DEMO}", "--dir", "starter")
    check, backfill = (as_printed(line.removeprefix("next:").strip())
                       for line in _from("next:")(runs["init"]).splitlines())
    runs["starter-check"] = run(*check)
    runs["starter-backfill"] = run(*backfill)
    runs["starter-summary"] = run("--config", "starter/costalloc.yaml", "summary", "--period",
                                  "2026-10")
    return runs


def run_ids(warehouses: Iterable[Path]) -> list[str]:
    """The load and allocation run ids in these warehouses, oldest warehouse first."""
    found: list[str] = []
    for path in warehouses:
        con = duckdb.connect(str(path), read_only=True)
        try:
            rows = con.sql("select run_id, min(finished_at) from ingest_log group by 1 union all "
                           "select run_id, min(finished_at) from allocation_log group by 1 "
                           "order by 2, 1").fetchall()
        finally:
            con.close()
        found += [run_id for run_id, _ in rows if run_id not in found]
    return found


def stable(text: str, root: Path, volatile: list[str]) -> str:
    """`text` with the temporary folder and each run id replaced by what the docs show."""
    text = text.replace(str(root), SHOWN_ROOT)
    for i, run_id in enumerate(volatile):
        text = text.replace(run_id, hashlib.sha256(f"docs run {i}".encode()).hexdigest()[:len(run_id)])
    return text


def fresh_examples() -> dict[str, str]:
    """Every example's block, from a fresh run of the demo."""
    with tempfile.TemporaryDirectory(prefix="costalloc-docs-") as folder:
        root = Path(folder)
        runs = run_all(root)
        volatile = run_ids([root / DEMO / "costalloc.duckdb", root / "starter" / "costalloc.duckdb"])
        return {example.name: stable(example.render(runs), root, volatile) for example in EXAMPLES}


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(text: str) -> dict[str, list[str]]:
    """Each example block's body in `text`, by example name."""
    found: dict[str, list[str]] = {}
    for match in BLOCK.finditer(text):
        found.setdefault(match["name"], []).append(match["body"])
    return found


def rewrite(text: str, examples: dict[str, str]) -> str:
    def body(match: re.Match[str]) -> str:
        if match["name"] not in examples:
            raise KeyError(f"no example called `{match['name']}`; known: {', '.join(examples)}")
        return f"{match[1]}{examples[match['name']]}{match[4]}"
    return BLOCK.sub(body, text)


def main() -> int:
    examples = fresh_examples()
    for page in pages():
        text = page.read_text()
        updated = rewrite(text, examples)
        if updated != text:
            page.write_text(updated)
            print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
