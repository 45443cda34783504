"""What the hard month is made of: accounts, services, regions, line item types and tag spellings.

Data only. The shares are chosen to look like a mid-size AWS Organization on hourly CUR 2.0: most
rows are usage, a fifth are covered by commitments, and a long tail of fees, taxes, credits and
discounts; tags are per resource in real life, per row here (the harder case for a loader).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PAYER_ACCOUNT_ID: Final = "184467440737"
PAYER_ACCOUNT_NAME: Final = "acme-payer"

# --- accounts: 30 team accounts named <team>-<stage> and 10 shared ones ----------------------
TEAMS: Final = ("platform", "payments", "data", "ml", "support", "growth", "identity", "search",
                "mobile", "checkout")
STAGES: Final = ("prod", "staging", "dev")
SHARED_ACCOUNTS: Final = ("acme-management", "acme-network-hub", "acme-shared-services",
                          "acme-log-archive", "acme-security-tooling", "acme-ml-training",
                          "acme-backup", "acme-audit", "acme-sandbox-1", "acme-sandbox-2")
# Cost categories AWS computes per account (`cost_category` map): team → business unit.
BUSINESS_UNITS: Final = {"platform": "Engineering", "payments": "Engineering",
                         "checkout": "Engineering", "identity": "Engineering",
                         "data": "Data & AI", "ml": "Data & AI", "search": "Data & AI",
                         "support": "Go-to-market", "growth": "Go-to-market",
                         "mobile": "Go-to-market"}


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    team: str  # whose account it is (shared accounts: platform's, or security's)


def accounts() -> tuple[Account, ...]:
    """Forty linked accounts; the ids are fixed 12-digit numbers."""
    named = [(f"{team}-{stage}", team) for team in TEAMS for stage in STAGES]
    named += [(name, "platform") for name in SHARED_ACCOUNTS]
    return tuple(Account(f"{310000000000 + 7919 * n:012d}", name, team)
                 for n, (name, team) in enumerate(named, start=1))


# --- regions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    code: str
    usage_prefix: str
    location: str
    entity: str  # invoicing entity and legal entity
    share: float


REGIONS: Final = (
    Region("us-east-1", "USE1", "US East (N. Virginia)", "Amazon Web Services, Inc.", 0.42),
    Region("us-west-2", "USW2", "US West (Oregon)", "Amazon Web Services, Inc.", 0.18),
    Region("eu-west-1", "EU", "EU (Ireland)", "Amazon Web Services EMEA SARL", 0.16),
    Region("eu-central-1", "EUC1", "EU (Frankfurt)", "Amazon Web Services EMEA SARL", 0.10),
    Region("ap-southeast-2", "APS2", "Asia Pacific (Sydney)", "Amazon Web Services Australia Pty Ltd",
           0.07),
    Region("ap-northeast-1", "APN1", "Asia Pacific (Tokyo)", "Amazon Web Services Japan G.K.", 0.07),
)


# --- services: one line per usage type ------------------------------------------------------
@dataclass(frozen=True)
class UsageType:
    product_code: str
    service_name: str
    family: str
    unit: str
    rate: str  # on-demand rate in USD per unit, at most 6 decimals
    usage: str  # usage type without the region prefix
    operation: str
    resource: str  # "" none; "id:<prefix>" an id; "arn:<service>:<kind>" an ARN in the account
    instance_type: str = ""
    is_global: bool = False


def _read_services() -> tuple[UsageType, ...]:
    """`services.csv`: one row per usage type. `resource`: empty (none), `id:<prefix>` (an id)
    or `arn:<service>:<kind>` (an ARN in the line item's account and region); `global`: the
    service has no region."""
    with (Path(__file__).parent / "services.csv").open(newline="") as lines:
        return tuple(UsageType(row["product_code"], row["service_name"], row["product_family"],
                               row["unit"], row["rate"], row["usage_type"], row["operation"],
                               row["resource"], row["instance_type"], row["global"] == "yes")
                     for row in csv.DictReader(lines))


USAGE_TYPES: Final = _read_services()
MARKETPLACE_PREFIX: Final = "prod-"  # AWS Marketplace product codes

# Usage amount per row, by unit: (low, high), drawn log-uniformly, 4 decimals.
AMOUNTS: Final = {"Hrs": (0.25, 1.0), "GB-Mo": (0.0001, 40.0), "GB": (0.001, 250.0),
                  "Requests": (1.0, 200000.0), "Lambda-GB-Second": (1.0, 50000.0),
                  "GB-Hours": (0.5, 16.0), "1K tokens": (1.0, 5000.0), "Terabytes": (0.0001, 2.0),
                  "User": (1.0, 40.0), "Month": (1.0, 10.0), "Dollar": (1.0, 100.0)}
DEFAULT_AMOUNT: Final = (0.01, 1000.0)

# --- line item types ------------------------------------------------------------------------
# (type, share of rows, monthly: one row for the whole month rather than one per hour)
LINE_ITEM_TYPES: Final = (
    ("Usage", 0.632, False),
    ("DiscountedUsage", 0.06, False),  # covered by a reservation: unblended 0, see RIFee
    ("SavingsPlanCoveredUsage", 0.1, False),
    ("SavingsPlanNegation", 0.1, False),
    ("SavingsPlanRecurringFee", 0.01, False),
    ("SavingsPlanUpfrontFee", 0.001, True),
    ("RIFee", 0.01, False),
    ("Fee", 0.004, True),
    ("Tax", 0.03, True),
    ("Credit", 0.008, True),
    ("Refund", 0.002, True),
    ("BundledDiscount", 0.01, False),
    ("EdpDiscount", 0.025, False),
    ("PrivateRateDiscount", 0.003, False),
    ("RiVolumeDiscount", 0.001, False),
    ("SppDiscount", 0.001, False),
    ("DistributorDiscount", 0.001, False),
    ("Discount", 0.001, False),
    ("FlatRateSubscription", 0.001, True),
)
USAGE_LIKE: Final = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation")
SAVINGS_PLANS: Final = 6
RESERVATIONS: Final = 24
RESOURCES_PER_TYPE: Final = 3000  # distinct resources per (usage type, account)

# --- tags: three keys, each in several spellings, on usage-like rows only ---------------------
# CUR 2.0 names user tags `user_<key>` in `resource_tags`.
# (key spellings with their shares, share of usage-like rows that carry the key)
ENVIRONMENT_KEYS: Final = (("user_env", 0.35), ("user_Env", 0.25), ("user_environment", 0.25),
                           ("user_Environment", 0.15))
ENVIRONMENT_TAGGED: Final = 0.9
# value spellings per environment; the last group is what nobody can map
ENVIRONMENT_VALUES: Final = (
    (("prod", 0.22), ("Prod", 0.08), ("PROD", 0.03), ("production", 0.12), ("Production", 0.04),
     ("prd", 0.04)),
    (("staging", 0.09), ("stg", 0.04), ("Staging", 0.03), ("stage", 0.02)),
    (("dev", 0.12), ("Dev", 0.04), ("development", 0.06), ("sandbox", 0.02)),
    (("tbd", 0.02), ("qa-temp", 0.02), ("n/a", 0.01)),
)
TEAM_KEYS: Final = (("user_team", 0.5), ("user_Team", 0.3), ("user_owner_team", 0.2))
TEAM_TAGGED: Final = 0.7
TEAM_SPELLINGS: Final = {"platform": ("platform", "Platform", "platform-eng"),
                         "payments": ("payments", "Payments", "pay"),
                         "data": ("data", "Data", "data-eng"),
                         "ml": ("ml", "ML", "ml-research"),
                         "support": ("support", "Support", "cx"),
                         "growth": ("growth", "Growth", "marketing"),
                         "identity": ("identity", "Identity", "iam-team"),
                         "search": ("search", "Search", "search-relevance"),
                         "mobile": ("mobile", "Mobile", "apps"),
                         "checkout": ("checkout", "Checkout", "cart")}
PROJECT_KEYS: Final = (("user_project", 0.7), ("user_Project", 0.3))
PROJECT_TAGGED: Final = 0.55
# The project worth capitalizing: internal-use software in its development phase in 2026.
CAPITALIZED_PROJECT: Final = "ledger-rebuild"
PROJECTS: Final = (
    (CAPITALIZED_PROJECT, 0.06), ("Ledger-Rebuild", 0.02), ("checkout-api", 0.06),
    ("fraud-scoring", 0.04), ("data-lake", 0.07), ("etl-pipelines", 0.05), ("bi-warehouse", 0.04),
    ("rec-engine", 0.04), ("llm-assistant", 0.04), ("forecasting", 0.03), ("support-triage", 0.03),
    ("web-frontend", 0.06), ("mobile-app", 0.05), ("search-index", 0.04), ("k8s-platform", 0.07),
    ("ci-runners", 0.05), ("observability", 0.05), ("identity-service", 0.03),
    ("email-campaigns", 0.02), ("experiments", 0.03), ("Experiments", 0.01),
    ("shared-network", 0.03), ("backup-vault", 0.02), ("cost-tools", 0.01), ("misc", 0.01),
)
CREATED_BY_TAGGED: Final = 0.15  # `aws_createdBy`, AWS's own tag
CREATED_BY_USERS: Final = ("alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi",
                           "ivan", "judy", "terraform", "github-actions")
