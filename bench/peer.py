"""The peer: the FinOps Foundation's focus_converters, in a venv of its own.

It reads legacy CUR only (`--provider aws-cur`, one CSV file), so it is compared with
costalloc on the legacy CUR month. Its command line, as its package defines it
(`focus_converter/main.py`, `common/cli_options.py`):

    focus-converter convert --provider aws-cur --data-format csv \\
        --data-path FILE --export-path DIR            # writes FOCUS Parquet into DIR
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).parent / ".venv-fc"
REQUIREMENTS = ("focus-converter", "multimethod<1.11", "click<8.2")


def ensure_installed(log: Path) -> Path:
    """The `focus-converter` executable, installing the venv on first use."""
    executable = VENV / "bin" / "focus-converter"
    if executable.exists():
        return executable
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, stdout=out,
                       stderr=subprocess.STDOUT)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q",
                        "--disable-pip-version-check", *REQUIREMENTS], check=True, stdout=out,
                       stderr=subprocess.STDOUT)
    return executable


def convert_command(executable: Path, csv_file: Path, export_dir: Path) -> list[str]:
    return [str(executable), "convert", "--provider", "aws-cur", "--data-format", "csv",
            "--data-path", str(csv_file), "--export-path", str(export_dir)]
