"""Time one command as a whole process: wall clock, CPU and peak resident memory.

`/usr/bin/time -v` (GNU time) measures it when installed. Without it, the child is waited for
with `os.wait4`, which reports the same `getrusage` figures; the result says which was used.
Peak RSS is the largest single process of the command's tree (what `getrusage` reports for
waited-for children), not their sum.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")
_FIELDS = {
    "wall": re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)"),
    "user": re.compile(r"User time \(seconds\): (\S+)"),
    "system": re.compile(r"System time \(seconds\): (\S+)"),
    "rss_kb": re.compile(r"Maximum resident set size \(kbytes\): (\d+)"),
    "exit": re.compile(r"Exit status: (\d+)"),
}


class CommandFailed(RuntimeError):
    """A measured command exited non-zero; its log says why."""


@dataclass(frozen=True)
class Run:
    wall_s: float
    user_s: float
    system_s: float
    peak_rss_mb: float
    tool: str  # "/usr/bin/time -v" or "os.wait4"


@dataclass
class Measured:
    """Several runs of one command: the median wall time and the largest peak RSS."""

    runs: list[Run] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def cpu_s(self) -> float:
        return statistics.median(r.user_s + r.system_s for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)

    def as_json(self) -> dict[str, object]:
        return {"wall_s": round(self.wall_s, 2), "cpu_s": round(self.cpu_s, 2),
                "peak_rss_mb": round(self.peak_rss_mb), "runs": len(self.runs),
                "wall_s_each": [round(r.wall_s, 2) for r in self.runs],
                "peak_rss_mb_each": [round(r.peak_rss_mb) for r in self.runs],
                "measured_with": self.runs[0].tool if self.runs else None}


def run(command: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None,
        cwd: Path | None = None) -> Run:
    """Run `command` once, its output to `log`; raise `CommandFailed` if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **(env or {})}
    if GNU_TIME.exists():
        report = log.with_suffix(".time")
        with log.open("w") as out:
            code = subprocess.call([str(GNU_TIME), "-v", "-o", str(report), *command],
                                   stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=cwd)
        measured = _parse_gnu_time(report.read_text())
        if code != 0:
            raise CommandFailed(f"`{' '.join(command)}` exited with {code}; see {log}")
        return measured
    return _run_wait4(command, log, environment, cwd)


def _run_wait4(command: Sequence[str], log: Path, environment: Mapping[str, str],
               cwd: Path | None) -> Run:
    with log.open("w") as out:
        started = time.monotonic()
        child = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(environment), cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise CommandFailed(f"`{' '.join(command)}` exited with {child.returncode}; see {log}")
    return Run(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, "os.wait4")


def _parse_gnu_time(text: str) -> Run:
    found = {}
    for name, pattern in _FIELDS.items():
        match = pattern.search(text)
        if match is None:
            raise ValueError(f"/usr/bin/time -v output lacks `{name}`:\n{text[-2000:]}")
        found[name] = match.group(1)
    return Run(_seconds(found["wall"]), float(found["user"]), float(found["system"]),
               int(found["rss_kb"]) / 1024, "/usr/bin/time -v")


def _seconds(clock: str) -> float:
    """`1:02:03.5` or `2:03.50` → seconds."""
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total
