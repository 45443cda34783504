"""`python -m bench.month_page`: the web view's month page timed on the server, as a user opens
it: a fresh process builds the app over the warehouse, signs in, and asks for the month page
`--requests` times. The server time of each answer (its `Server-Timing` header: the app's own
time, from request to response, without the HTTP client) goes to `--out` as JSON. The first
request is the cold one (it opens the warehouse and reads the rules, budgets and events)."""

from __future__ import annotations

import argparse
import json
import re
import secrets
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from costalloc.core.settings import load_settings
from costalloc.reports.serving.endpoint import create_app
from costalloc.reports.serving.web import web_files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.month_page", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--period", required=True)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's notice about its httpx dependency
        from fastapi.testclient import TestClient
    settings = load_settings(args.config)
    token = secrets.token_urlsafe(32)
    app = create_app(settings.warehouse, [token], web_files(settings, args.config.parent))
    server_ms, client_ms = [], []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        form = client.get("/sign-in").text
        form_token = re.search(r'name="form_token" value="([^"]+)"', form)
        assert form_token is not None
        client.post("/sign-in", data={"token": token, "form_token": form_token.group(1)})
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(f"/month/{args.period}")
            client_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or "data-kpi" not in response.text:
                raise SystemExit(f"the month page answered {response.status_code}")
            timing = re.match(r"app;dur=([\d.]+)", response.headers["server-timing"])
            assert timing is not None
            server_ms.append(float(timing.group(1)))
    args.out.write_text(json.dumps({"server_ms": server_ms, "client_ms": client_ms}))
    print(f"month page {args.period}: server ms {server_ms}, client ms "
          f"{[round(ms, 1) for ms in client_ms]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
