"""The web view over the finance reports' warehouse (two months of demo AWS CUR in USD and EUR
and the asset register), with the demo's rules, budgets and events beside it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from costalloc.allocation.aggregates import write_aggregates
from costalloc.allocation.loader import load_rules
from costalloc.reports.serving.endpoint import create_app
from costalloc.warehouse.connection import connect
from tests.reports.builders import DEMO_RULES, OCTOBER, SEPTEMBER
from tests.reports.serving.web.site import FILES, OTHER, TOKEN, sign_in, web_client


@pytest.fixture(scope="session")
def web_warehouse(built_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the finance warehouse whose month totals are written again: its builder edits
    allocated rows after publishing (as no run does), so the kept totals must follow."""
    target = tmp_path_factory.mktemp("web") / "costalloc.duckdb"
    shutil.copyfile(built_warehouse, target)
    con = connect(target)
    ruleset = load_rules(DEMO_RULES)
    try:
        for period in (SEPTEMBER, OCTOBER):
            con.begin()
            write_aggregates(con, period, f"alloc-{period}", ruleset)
            con.commit()
    finally:
        con.close()
    return target


@pytest.fixture(scope="session")
def app(web_warehouse: Path) -> Any:
    return create_app(web_warehouse, [TOKEN, OTHER], FILES)


@pytest.fixture
def anonymous(app: Any) -> Iterator[Any]:
    with web_client(app) as client:
        yield client


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    """Signed in with `TOKEN`."""
    with web_client(app) as signed:
        assert sign_in(signed).status_code == 303
        yield signed
