"""What the numbers were measured on: cores, memory, CPU model and library versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

_PACKAGES = ("duckdb", "polars", "pyarrow", "prefect")


def describe() -> dict[str, object]:
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _memory_gb(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        **{name: _version(name) for name in _PACKAGES},
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def summary(machine: dict[str, object]) -> str:
    return (f"{machine['nproc']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB; "
            f"Python {machine['python']}, DuckDB {machine['duckdb']}, polars {machine['polars']}, "
            f"pyarrow {machine['pyarrow']}, Prefect {machine['prefect']}")


def _memory_gb() -> float | None:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
