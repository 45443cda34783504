"""What the web view's tests share: tokens, the demo files, a client, signing in."""

from __future__ import annotations

import re
import warnings
from typing import Any

from costalloc.reports.serving.web import WebFiles
from tests.reports.builders import DEMO_RULES

TOKEN = "web-view-token-0123456789abcdef"
OTHER = "another-token-for-the-controller"
DEMO = DEMO_RULES.parent
FILES = WebFiles(DEMO_RULES, DEMO / "budgets.yaml", DEMO / "events.yaml")
BASE_URL = "http://127.0.0.1:8765"


def web_client(app: Any, **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's notice about its httpx dependency
        from fastapi.testclient import TestClient
    return TestClient(app, **{"base_url": BASE_URL, **options})


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found is not None, "the page has no form token"
    return found.group(1)


def sign_in(client: Any, token: str = TOKEN, target: str = "/") -> Any:
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"token": token, "form_token": form_token(page.text),
                                         "next": target}, follow_redirects=False)
