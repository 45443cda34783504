"""The FinOps Foundation's FOCUS validator (focus-validator 2.2.1, FOCUS 1.2 rules), run on an
extract, and the one list of its own defects.

It runs in its own Python 3.12 venv (`make emulators` installs `.venv-focus`) and exits 0 even
when rules fail, so its JUnit XML is read: failing *leaf* rules count; a `Composite` rule fails
whenever one of its children does, so it is not counted twice.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VALIDATOR = REPO / ".venv-focus" / "bin" / "focus-validator"
_SPEC = "https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec/blob/v1.2/specification/columns/"


@dataclass(frozen=True)
class Defect:
    rule: str
    why: str
    link: str


# Rules focus-validator 2.2.1 fails on data that meets the FOCUS 1.2 text: the validator's
# defects, not the data's. Every other failing rule fails the conformance tests.
VALIDATOR_DEFECTS: tuple[Defect, ...] = (
    Defect("InvoiceId-C-004-C", "the pair has no condition: -004 demands every InvoiceId null "
           "and -005 every one set, so any dataset fails one of them", _SPEC + "invoiceid.md"),
    Defect("InvoiceId-C-005-C", "see InvoiceId-C-004-C", _SPEC + "invoiceid.md"),
    Defect("CapacityReservationStatus-C-004-C", "its condition is malformed: it flags every row, "
           "with or without a capacity reservation", _SPEC + "capacityreservationstatus.md"),
    Defect("CommitmentDiscountStatus-C-004-C", "its condition is inverted: it flags rows with no "
           "commitment discount", _SPEC + "commitmentdiscountstatus.md"),
    Defect("CommitmentDiscountStatus-C-005-M", "the model's allowed values are Active, Expired "
           "and Pending; the spec's are Used and Unused", _SPEC + "commitmentdiscountstatus.md"),
    Defect("BilledCost-C-005-C", "it reads every row whose InvoiceIssuerName differs from its "
           "ProviderName as paid to a third party and demands BilledCost 0; the spec names a "
           "reseller (CSP partner) as the invoice issuer of charges the customer is billed for, "
           "and a provider may invoice under its legal name (`AWS` / `Amazon Web Services, "
           "Inc.`): BilledCost is what that invoice says", _SPEC + "billedcost.md"),
    Defect("EffectiveCost-C-005-C", "it demands EffectiveCost 0 on every Purchase; the spec limits "
           "that to purchases that cover future charges (commitments), which the tests check "
           "themselves", _SPEC + "effectivecost.md"),
)
KNOWN_DEFECTS = frozenset(defect.rule for defect in VALIDATOR_DEFECTS)


def failing_leaves(report: Path) -> set[str]:
    failing = set()
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None and ":: Composite" not in name:
            failing.add(name.split(" :: ")[0])
    return failing


def validate(data: Path, workdir: Path) -> set[str]:
    """The leaf rules `data` (a Parquet extract) fails."""
    if not VALIDATOR.exists():
        pytest.fail("the FOCUS validator is not installed: run `make emulators`")
    package = subprocess.run([str(VALIDATOR.parent / "python"), "-c",
                              "import focus_validator, os; print(os.path.dirname("
                              "focus_validator.__file__))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    workdir.mkdir(parents=True, exist_ok=True)
    link = workdir / "focus_validator"  # it opens rules/currency_codes.csv relative to the cwd
    if not link.exists():
        link.symlink_to(package)
    report = workdir / "report.xml"
    subprocess.run([str(VALIDATOR), "--data-file", str(data), "--validate-version", "1.2",
                    "--block-download", "--applicability-criteria", "ALL", "--output-type",
                    "unittest", "--output-destination", str(report)],
                   cwd=workdir, capture_output=True, text=True, timeout=600, check=True)
    return failing_leaves(report)
