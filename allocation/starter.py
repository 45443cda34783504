"""A first rules file, proposed from what an export's cost carries. Pure.

From a `SpendCensus`, `propose` finds the tag keys that spell each standard dimension in any
form (`env`, `Env`, `environment`, `stage`, `gcp:project/env` …), the values that mean a
declared one (`prod`, `Prod`, `prd` → production), what each sub-account's untagged cost most
likely belongs to (its name says so, or its tagged cost does), and whether commitment fees and
taxes need to follow the spend. `render_rules` writes it as a commented rules file, each rule
saying how much of the cost it catches — the same numbers the allocation will show, because
they are computed the way the engine decides (first alias present, aliases, declared values,
then the account).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from costalloc.allocation.census import COMMITMENT, TAX, Group, SpendCensus
from costalloc.allocation.model import STANDARD_DIMENSIONS

# Tag keys that name a dimension, compared without case, punctuation or a provider prefix
# (`gcp:project/env` → `env`).
KEY_SPELLINGS: dict[str, frozenset[str]] = {
    "environment": frozenset({"environment", "env", "envname", "environmentname", "stage",
                              "deploymentenvironment", "appenv", "environmenttype"}),
    "workstream": frozenset({"workstream", "ws", "workstreams", "stream", "workstreamname"}),
}
# Values that mean a declared value, compared the same way. Pre-production stages count as
# staging; tests and sandboxes as development.
VALUE_SPELLINGS: dict[str, dict[str, str]] = {
    "environment": {
        **dict.fromkeys(("production", "prod", "prd", "prods", "live", "prodn", "pr"), "production"),
        **dict.fromkeys(("staging", "stg", "stage", "stag", "uat", "qa", "preprod",
                         "preproduction", "nonprod"), "staging"),
        **dict.fromkeys(("development", "dev", "devel", "develop", "sandbox", "sbx", "test",
                         "testing", "tst", "lab"), "development"),
    },
    "workstream": {
        **dict.fromkeys(("experimentation", "experiment", "experiments", "research", "rnd", "rd",
                         "mlresearch", "poc", "prototype", "exploration"), "experimentation"),
        **dict.fromkeys(("platformbuild", "platform", "build", "infra", "infrastructure",
                         "dataplatform", "platformengineering", "engineering"), "platform_build"),
        **dict.fromkeys(("productionoperations", "operations", "ops", "sre", "run", "support",
                         "customersupport", "prodops", "devops"), "production_operations"),
        **dict.fromkeys(("riskcompliance", "risk", "compliance", "security", "audit", "secops",
                         "governance"), "risk_compliance"),
    },
}
PROPOSED_DIMENSIONS = ("environment", "workstream")
# An account's untagged cost follows its tagged cost when this much of that is one value.
DOMINANT_SHARE = Decimal("0.8")
_TOP = 5
_Lookup = Callable[[Group], str | None]


def concept(text: str) -> str:
    """`gcp:project/Env-Name` → `envname`: what a key or value says, without its spelling."""
    return re.sub(r"[^a-z0-9]", "", re.split(r"[:/]", text)[-1].lower())


@dataclass(frozen=True)
class Share:
    """An amount and what it is of the currency's billed cost."""

    cost: Decimal
    total: Decimal

    @property
    def percent(self) -> str:
        return f"{self.cost / self.total * 100:.1f}%" if self.total else "–"


@dataclass(frozen=True)
class AccountGuess:
    account: str  # the id (or the name, when the export has no id)
    name: str | None
    values: dict[str, str]  # dimension → declared value
    reasons: dict[str, str]  # dimension → why


_NOWHERE = AccountGuess("", None, {}, {})


@dataclass
class DimensionProposal:
    """How a dimension is spelled in the export's tags."""

    dimension: str
    keys: list[str] = field(default_factory=list)  # lower-cased, most cost first
    aliases: dict[str, str] = field(default_factory=dict)  # value as tagged → declared value
    # unmapped values, the most cost first, with their |cost| per currency
    unknown: list[tuple[str, dict[str, Decimal]]] = field(default_factory=list)

    @property
    def key_aliases(self) -> list[str]:
        return [key for key in self.keys if key != self.dimension]


@dataclass
class Coverage:
    """Per currency, the cost each way of setting a dimension catches."""

    by_tag: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    by_account: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    by_split: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    left: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


@dataclass
class Starter:
    """Everything the starter rules file says, and what it will catch."""

    census: SpendCensus
    dimensions: dict[str, DimensionProposal]
    accounts: list[AccountGuess]
    split_commitments: bool
    split_taxes: bool
    coverage: dict[str, Coverage]  # per proposed dimension
    # per currency: (key, |cost| on rows with it, top values with theirs), the most cost first
    tag_keys: dict[str, list[tuple[str, Decimal, list[tuple[str, Decimal]]]]]

    def share(self, currency: str, cost: Decimal) -> Share:
        return Share(cost, self.census.total(currency))

    @property
    def tag_key_names(self) -> set[str]:
        return {key for keys in self.tag_keys.values() for key, _, _ in keys}


def propose(census: SpendCensus) -> Starter:
    """The starter rules for the cost `census` saw."""
    dimensions = {d: _spelling(census, d) for d in PROPOSED_DIMENSIONS}
    tagged = {d: _tagged_value(dimensions[d]) for d in PROPOSED_DIMENSIONS}
    accounts = _account_guesses(census, tagged)
    by_account = {a.account.lower(): a for a in accounts}
    # Commitment fees and taxes are split only where no tag or account places them.
    placed = {g for g in census.cost
              if tagged["environment"](g) is not None
              or "environment" in (_guess_for(g, by_account) or _NOWHERE).values}
    split_commitments = any(g.charge == COMMITMENT for g in census.cost if g not in placed)
    split_taxes = any(g.charge == TAX for g in census.cost if g not in placed)
    coverage: dict[str, Coverage] = {}
    for dimension in PROPOSED_DIMENSIONS:
        cover = coverage[dimension] = Coverage()
        for group, cost in census.cost.items():
            account = _guess_for(group, by_account)
            if tagged[dimension](group) is not None:
                cover.by_tag[group.currency] += cost
            elif account is not None and dimension in account.values:
                cover.by_account[group.currency] += cost
            elif (dimension == "environment" and
                  ((group.charge == COMMITMENT and split_commitments) or
                   (group.charge == TAX and split_taxes))):
                cover.by_split[group.currency] += cost
            else:
                cover.left[group.currency] += cost
    return Starter(census, dimensions, accounts, split_commitments, split_taxes, coverage,
                   _tag_keys(census))


def _spelling(census: SpendCensus, dimension: str) -> DimensionProposal:
    spellings = KEY_SPELLINGS[dimension]
    key_cost: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    value_cost: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for group, cost in census.cost.items():
        for key, value in group.tags:
            if concept(key) in spellings:
                key_cost[key.lower()][group.currency] += abs(cost)
                value_cost[value.lower()][group.currency] += abs(cost)
    proposal = DimensionProposal(dimension, _ranked(census, key_cost))
    known = VALUE_SPELLINGS[dimension]
    for value in _ranked(census, value_cost):
        declared = known.get(concept(value))
        if declared is None:
            proposal.unknown.append((value, dict(value_cost[value])))
        elif value != declared:
            proposal.aliases[value] = declared
    return proposal


def _ranked(census: SpendCensus, costs: Mapping[str, Mapping[str, Decimal]]) -> list[str]:
    """The names in `costs` (|cost| per currency each), the most cost first without adding
    currencies: by the sum of their shares of each currency's |cost|, then by name."""
    magnitudes = census.magnitudes()

    def weight(name: str) -> Decimal:
        return sum((amount / magnitudes[currency] for currency, amount in costs[name].items()
                    if magnitudes.get(currency)), Decimal(0))

    return sorted(costs, key=lambda name: (-weight(name), name))


def _tagged_value(proposal: DimensionProposal) -> _Lookup:
    """What the engine reads for `{tag.<dimension>}` on a group: the first of the dimension's
    keys present, mapped through the aliases to a declared value (else nothing)."""
    order = [proposal.dimension, *proposal.key_aliases]
    declared = set(STANDARD_DIMENSIONS[proposal.dimension])

    def lookup(group: Group) -> str | None:
        tags = {key.lower(): value.lower() for key, value in group.tags}
        for key in order:
            if key in tags:
                value = proposal.aliases.get(tags[key], tags[key])
                return value if value in declared else None
        return None

    return lookup


def _account_guesses(census: SpendCensus, tagged: dict[str, _Lookup]) -> list[AccountGuess]:
    """Each sub-account whose untagged cost can be placed: by what its name says, else by what
    most of its tagged cost is, in every currency it has tagged cost in."""
    cost: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    names: dict[str, str | None] = {}
    # (account, dimension) → currency → value → |cost|
    seen: dict[tuple[str, str], dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(Decimal)))
    for group, amount in census.cost.items():
        account = group.account_id or group.account_name
        if not account:
            continue
        cost[account][group.currency] += abs(amount)
        names[account] = group.account_name
        for dimension, lookup in tagged.items():
            value = lookup(group)
            if value is not None:
                seen[(account, dimension)][group.currency][value] += abs(amount)
    guesses = []
    for account in _ranked(census, cost):
        values: dict[str, str] = {}
        reasons: dict[str, str] = {}
        for dimension in PROPOSED_DIMENSIONS:
            by_name = _named(names[account], dimension)
            if by_name is not None:
                values[dimension], reasons[dimension] = by_name, "its name says so"
                continue
            dominant = _dominant(seen.get((account, dimension), {}))
            if dominant is not None:
                values[dimension], reasons[dimension] = dominant
        if values:
            guesses.append(AccountGuess(account, names[account], values, reasons))
    return guesses


def _dominant(by_currency: Mapping[str, Mapping[str, Decimal]]) -> tuple[str, str] | None:
    """The value that is at least DOMINANT_SHARE of the tagged cost in every currency, and why
    (shares are per currency: amounts in two currencies are never added)."""
    shares: dict[str, Decimal] = {}
    chosen: set[str] = set()
    for currency, found in sorted(by_currency.items()):
        value, amount = max(found.items(), key=lambda item: (item[1], item[0]))
        whole = sum(found.values(), Decimal(0))
        if not whole or amount / whole < DOMINANT_SHARE:
            return None
        shares[currency] = amount / whole
        chosen.add(value)
    if len(chosen) != 1:
        return None
    value = chosen.pop()
    if len(shares) == 1:
        return value, f"{next(iter(shares.values())) * 100:.0f}% of its tagged cost is {value}"
    parts = " and ".join(f"{share * 100:.0f}% of its tagged {currency} cost"
                         for currency, share in shares.items())
    return value, f"{parts} is {value}"


def _named(name: str | None, dimension: str) -> str | None:
    """The declared value a word of the account's name spells (`payments-prod` → production)."""
    if not name:
        return None
    known = VALUE_SPELLINGS[dimension]
    found = {known[word] for word in re.split(r"[^a-z0-9]+", name.lower()) if word in known}
    return found.pop() if len(found) == 1 else None


def _guess_for(group: Group, accounts: dict[str, AccountGuess]) -> AccountGuess | None:
    for key in (group.account_id, group.account_name):
        if key and key.lower() in accounts:
            return accounts[key.lower()]
    return None


def _tag_keys(census: SpendCensus) -> dict[str, list[tuple[str, Decimal, list[tuple[str, Decimal]]]]]:
    """Per currency, every tag key with the |cost| of rows carrying it and its top values."""
    key_cost: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    values: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for group, cost in census.cost.items():
        for key, value in group.tags:
            key_cost[group.currency][key] += abs(cost)
            values[(group.currency, key)][value] += abs(cost)
    found = {}
    for currency in census.currencies():
        costs = key_cost.get(currency, {})
        ranked = sorted(costs, key=lambda k: (-costs[k], k))
        found[currency] = [
            (key, costs[key], sorted(values[(currency, key)].items(),
                                     key=lambda item: (-item[1], item[0]))[:_TOP])
            for key in ranked]
    return found


# ------------------------------------------------------------------------------------------
# The rules file, as text: comments carry what each part catches
# ------------------------------------------------------------------------------------------


def render_rules(starter: Starter, *, source: str, period: str) -> str:
    census = starter.census
    currencies = census.currencies()
    lines = [
        f"# Starter rules written by `costalloc init` from {source}:",
        f"# {census.line_items:,} line items, "
        + ", ".join(f"{c} {census.total(c):,.2f}" for c in currencies) + " billed.",
        "# Every percentage below is of that billed cost, per currency. Review the proposals,",
        "# then run `costalloc rules check rules.yaml --period " + period + "`.",
        "#",
    ]
    lines += _tag_key_lines(starter, currencies)
    lines += ["", "dimensions:"]
    lines += [f"  {name}: [{', '.join(values)}]" for name, values in STANDARD_DIMENSIONS.items()]
    lines += ["", *_normalize_lines(starter), "", *_account_lines(starter), "", "rules:"]
    lines += _rule_lines(starter, currencies)
    splits = _split_lines(starter, currencies)
    if splits:
        lines += ["", "splits:", *splits]
    lines += ["", "defaults:",
              "  cost_type: opex                # CapEx only through a `capitalization` entry "
              "with an approved phase", ""]
    return "\n".join(lines)


def _tag_key_lines(starter: Starter, currencies: list[str]) -> list[str]:
    """The tag keys found, per currency when there are several (shares of each one's cost)."""
    magnitudes = starter.census.magnitudes()
    lines = []
    for currency in currencies:
        keys = starter.tag_keys.get(currency, [])
        total = magnitudes.get(currency, Decimal(0))
        of = "cost" if len(currencies) == 1 else f"{currency} cost"
        lines.append(f"# Tag keys found (share of {of} on rows that carry them; top values):")
        for key, cost, top in keys[:12]:
            shown = ", ".join(f"{_short(value)} {_percent(amount, total)}" for value, amount in top)
            lines.append(f"#   {key}: {_percent(cost, total)} — {shown}")
        if len(keys) > 12:
            lines.append(f"#   … and {len(keys) - 12} more keys")
        if not keys:
            lines.append("#   none: the export carries no tags, so accounts decide")
    if not currencies:
        lines.append("# Tag keys found: none, the export has no line items")
    return lines


def _normalize_lines(starter: Starter) -> list[str]:
    lines = ["normalize:                       # tag keys and values, compared without case",
             "  keys:"]
    keys = [(d, p.key_aliases) for d, p in starter.dimensions.items() if p.key_aliases]
    lines += [f"    {d}: [{', '.join(_q(k) for k in aliases)}]" for d, aliases in keys]
    if not keys:
        lines[-1] = "  keys: {}"
    values = [(d, p.aliases) for d, p in starter.dimensions.items() if p.aliases]
    if values:
        lines.append("  values:")
        for dimension, aliases in values:
            lines.append(f"    {dimension}:")
            lines += [f"      {_q(alias)}: {value}" for alias, value in aliases.items()]
    else:
        lines.append("  values: {}")
    for dimension, proposal in starter.dimensions.items():
        if proposal.unknown:
            shown = ", ".join(f"`{value}`" for value, _ in proposal.unknown[:_TOP])
            lines.append(f"  # {dimension} values no alias covers yet (map them above): {shown}")
    return lines


def _account_lines(starter: Starter) -> list[str]:
    if not starter.accounts:
        return ["accounts: {}                     # no account's name or tagged cost says where "
                "its untagged cost belongs"]
    lines = ["accounts:                        # where an account's untagged cost goes"]
    for guess in starter.accounts:
        values = ", ".join(f"{d}: {v}" for d, v in guess.values.items())
        why = "; ".join(f"{d}: {r}" for d, r in guess.reasons.items())
        named = f"{guess.name}: " if guess.name and guess.name != guess.account else ""
        lines.append(f"  {_q(guess.account)}: {{{values}}}   # {named}{why}")
    return lines


def _rule_lines(starter: Starter, currencies: list[str]) -> list[str]:
    lines = []
    for dimension in PROPOSED_DIMENSIONS:
        cover = starter.coverage[dimension]
        proposal = starter.dimensions[dimension]
        sources = []
        if proposal.keys:
            sources.append(f'"{{tag.{dimension}}}"')
        if any(dimension in guess.values for guess in starter.accounts):
            sources.append(f'"{{account.{dimension}}}"')
        if not sources:
            lines.append(f"  # no tag key or account says the {dimension}: add a rule for it")
            continue
        lines += [f"  - id: {dimension}-from-tag-or-account",
                  f"    description: the {dimension} tag in any spelling, else the account's",
                  *(f"    # {c}: {_catch(starter, c, cover)}" for c in currencies),
                  "    when: {}                     # every line item",
                  f"    set: {{{dimension}: [{', '.join(sources)}]}}"]
    return lines


def _split_lines(starter: Starter, currencies: list[str]) -> list[str]:
    cover = starter.coverage["environment"]
    caught = ", ".join(f"{c} {starter.share(c, cover.by_split[c]).percent}" for c in currencies)
    lines: list[str] = []
    chosen = [("commitments-follow-usage", "commitment fees (reservations, savings plans) "
               "follow the environments that use them",
               "{ChargeCategory: Purchase, CommitmentDiscountId: present, "
               "dim.environment: unallocated}", starter.split_commitments),
              ("taxes-follow-spend", "taxes follow the spend they tax",
               "{ChargeCategory: Tax, dim.environment: unallocated}", starter.split_taxes)]
    for split_id, description, when, wanted in chosen:
        if not wanted:
            continue
        lines += [f"  - id: {split_id}",
                  f"    description: {description}",
                  f"    when: {when}",
                  "    method: proportional",
                  "    basis: EffectiveCost",
                  "    across: {environment: [development, staging, production]}",
                  "    within: [x_source, BillingCurrency]",
                  "    fallback: even"]
    if lines:
        lines.insert(0, f"  # together they place {caught} of cost that no tag or account places")
    return lines


def _catch(starter: Starter, currency: str, cover: Coverage) -> str:
    parts = [f"tags catch {starter.share(currency, cover.by_tag[currency]).percent}",
             f"accounts {starter.share(currency, cover.by_account[currency]).percent} more"]
    if cover.by_split[currency]:
        parts.append(f"splits below {starter.share(currency, cover.by_split[currency]).percent}")
    parts.append(f"{starter.share(currency, cover.left[currency]).percent} stays unallocated")
    return ", ".join(parts)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _percent(cost: Decimal, total: Decimal) -> str:
    return f"{cost / total * 100:.1f}%" if total else "–"


def _q(text: str) -> str:
    """`text` as a YAML scalar that reads back as itself, whatever it holds."""
    return json.dumps(text, ensure_ascii=False)


def covered(starter: Starter, dimension: str, currency: str) -> Decimal:
    """The share of `currency`'s billed cost the starter rules give `dimension` a value."""
    cover = starter.coverage[dimension]
    placed = cover.by_tag[currency] + cover.by_account[currency] + cover.by_split[currency]
    total = starter.census.total(currency)
    return placed / total if total else Decimal(0)

