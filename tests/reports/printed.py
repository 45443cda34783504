"""A workbook as it prints: rendered to PDF by LibreOffice Calc (headless), read back page by
page with poppler's `pdftotext -layout`. Both are real programs (`make test` installs them:
Debian's `libreoffice-calc-nogui`, `poppler-utils` and the Calibri-metric font Carlito); a
missing one is a failure, never a skip."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RENDER_SECONDS = 300


@dataclass(frozen=True)
class Page:
    number: int
    text: str

    @property
    def header(self) -> list[str]:
        """The page header's parts: the report's title, the sheet's name, `Page n of m`."""
        return re.split(r"\s{2,}", self.text.strip().split("\n", 1)[0].strip())

    @property
    def sheet(self) -> str:
        return self.header[1] if len(self.header) == 3 else ""

    @property
    def body(self) -> list[str]:
        """The lines under the page header."""
        return [line for line in self.text.strip().split("\n")[1:] if line.strip()]


def printed_pages(workbook: Path, out: Path) -> list[Page]:
    """Print `workbook` to a PDF in `out` and return its pages' text, laid out."""
    for tool in ("soffice", "pdftotext"):
        if shutil.which(tool) is None:
            raise AssertionError(f"`{tool}` is not installed: `make print-tools` installs "
                                 "LibreOffice Calc and poppler (Debian: apt-get install "
                                 "libreoffice-calc-nogui poppler-utils fonts-crosextra-carlito)")
    out.mkdir(parents=True, exist_ok=True)
    profile = out / "libreoffice-profile"  # a private profile: no clash with a running office
    subprocess.run(["soffice", f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(out), str(workbook)],
                   check=True, capture_output=True, timeout=RENDER_SECONDS)
    pdf = out / f"{workbook.stem}.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=RENDER_SECONDS).stdout
    return [Page(i, page) for i, page in enumerate(text.split("\f"), start=1) if page.strip()]
