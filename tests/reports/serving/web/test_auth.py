"""Signing in to the web view: nothing but the sign-in page without a session, the cookie's flags
and expiry, wrong tokens, cross-site forms, signing out, pull tokens — and the bearer API as
it was."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from costalloc.reports.serving.endpoint import create_app
from costalloc.reports.serving.web import create_web_app
from costalloc.reports.serving.web.sessions import SESSION_COOKIE, Keyring, safe_next
from tests.reports.serving.web.site import FILES, OTHER, TOKEN, form_token, sign_in, web_client

PAGES = ("/", "/month/2026-10", "/month/2026-10?currency=EUR", "/month?period=2026-09",
         "/month/2026-10/items?currency=USD&environment=production",
         "/month/2026-10/items/aws/5", "/month/2099-01", "/no-such-page")
PULLS = ("/pull/allocation.csv?period=2026-10&currency=USD",
         "/pull/items.parquet?period=2026-10&currency=USD", "/pull/forecast.xlsx?period=2026-10")


def _cookie(response: Any, name: str) -> SimpleCookie:
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        if name in parsed:
            return parsed
    raise AssertionError(f"no `{name}` cookie set")


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_every_page_is_the_way_to_sign_in(anonymous: Any, path: str) -> None:
    response = anonymous.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")
    landed = anonymous.get(path)
    assert landed.url.path == "/sign-in"
    assert "data-exact" not in landed.text and "<table" not in landed.text


@pytest.mark.parametrize("path", PULLS)
def test_without_a_token_no_table_is_served(anonymous: Any, path: str) -> None:
    assert anonymous.get(path).status_code == 401
    assert anonymous.get(path + "&token=not-a-token-of-this-server").status_code == 401
    assert anonymous.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_stylesheet_is_served_to_the_sign_in_page(anonymous: Any) -> None:
    response = anonymous.get("/static/app.css")
    assert response.status_code == 200 and "--ink" in response.text


def test_signing_in_sets_an_httponly_strict_expiring_cookie(anonymous: Any) -> None:
    response = sign_in(anonymous, target="/month/2026-10?currency=EUR")
    assert response.status_code == 303
    assert response.headers["location"] == "/month/2026-10?currency=EUR"
    morsel = _cookie(response, SESSION_COOKIE)[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["max-age"] == str(8 * 3600)
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain HTTP on loopback; see the HTTPS case below
    assert TOKEN not in morsel.value  # the cookie never carries the token
    assert anonymous.get("/month/2026-10?currency=EUR").status_code == 200


def test_over_https_the_cookie_is_secure(app: Any) -> None:
    with web_client(app, base_url="https://costs.example.com") as client:
        response = sign_in(client)
        assert _cookie(response, SESSION_COOKIE)[SESSION_COOKIE]["secure"] is True


@pytest.mark.parametrize("token", ["", "wrong-token-wrong-token", TOKEN + "x", TOKEN[:-1]])
def test_a_wrong_token_signs_nobody_in(anonymous: Any, token: str) -> None:
    response = sign_in(anonymous, token=token)
    assert response.status_code in (400, 401)
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert anonymous.get("/month/2026-10", follow_redirects=False).status_code == 303


def test_either_configured_token_signs_in(anonymous: Any) -> None:
    assert sign_in(anonymous, token=OTHER).status_code == 303


def test_the_sign_in_form_needs_its_own_form_token(anonymous: Any) -> None:
    page = anonymous.get("/sign-in")
    wrong = anonymous.post("/sign-in", data={"token": TOKEN, "form_token": "forged",
                                             "next": "/"}, follow_redirects=False)
    assert wrong.status_code == 400
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    # Without the form's cookie (a request made from another site), the form token is useless.
    anonymous.cookies.clear()
    stale = anonymous.post("/sign-in", data={"token": TOKEN, "form_token": form_token(page.text),
                                             "next": "/"}, follow_redirects=False)
    assert stale.status_code == 400


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"},
                                     {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}])
def test_a_cross_site_sign_in_is_refused(anonymous: Any, headers: dict[str, str]) -> None:
    page = anonymous.get("/sign-in")
    response = anonymous.post("/sign-in", headers=headers, follow_redirects=False, data={
        "token": TOKEN, "form_token": form_token(page.text), "next": "/"})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_same_origin_sign_in_is_accepted(anonymous: Any) -> None:
    page = anonymous.get("/sign-in")
    response = anonymous.post("/sign-in", follow_redirects=False, data={
        "token": TOKEN, "form_token": form_token(page.text), "next": "/"},
        headers={"Origin": "http://127.0.0.1:8765", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303


def test_signing_out_needs_the_sessions_form_token_and_ends_the_session(client: Any) -> None:
    old = client.cookies.get(SESSION_COOKIE)
    forged = client.post("/sign-out", data={"form_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 400
    assert client.get("/month/2026-10").status_code == 200  # still signed in
    page = client.get("/month/2026-10")
    response = client.post("/sign-out", data={"form_token": form_token(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    client.cookies.set(SESSION_COOKIE, old)  # the old cookie, kept by someone, is refused
    assert client.get("/month/2026-10", follow_redirects=False).status_code == 303


def test_a_cross_site_sign_out_is_refused(client: Any) -> None:
    page = client.get("/month/2026-10")
    response = client.post("/sign-out", data={"form_token": form_token(page.text)},
                           headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/month/2026-10").status_code == 200


def test_sessions_expire_and_cannot_be_forged() -> None:
    now = [1_000_000.0]
    keys = Keyring([TOKEN, OTHER], lifetime=3600, clock=lambda: now[0])
    session, cookie = keys.open(1)
    assert keys.session(cookie) == session
    now[0] += 3599
    assert keys.session(cookie) == session
    now[0] += 1
    assert keys.session(cookie) is None  # expired
    _, cookie = keys.open(0)
    expires, nonce, slot, mac = cookie.split(".")
    assert keys.session(f"{int(expires) + 86400}.{nonce}.{slot}.{mac}") is None  # extended
    assert keys.session(f"{expires}.{nonce}.1.{mac}") is None  # another token's slot
    assert keys.session(f"{expires}.{nonce}.9.{mac}") is None
    assert keys.session("garbage") is None and keys.session(None) is None
    # A restarted server (a new process secret) accepts none of the old sessions.
    assert Keyring([TOKEN, OTHER], clock=lambda: now[0]).session(cookie) is None


def test_after_sign_in_only_local_paths_are_followed() -> None:
    assert safe_next("/month/2026-10?currency=EUR") == "/month/2026-10?currency=EUR"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", None,
                   "javascript:alert(1)"):
        assert safe_next(target) == "/"


def test_a_pull_token_fetches_tables_but_cannot_sign_in(client: Any, anonymous: Any) -> None:
    page = client.get("/month/2026-10?currency=USD").text
    start = page.index("token=pull-") + len("token=")
    pull = page[start:page.index('"', start)]
    url = "/pull/allocation.csv?period=2026-10&currency=USD"
    assert anonymous.get(f"{url}&token={pull}").status_code == 200
    assert anonymous.get(url, headers={"Authorization": f"Bearer {pull}"}).status_code == 200
    assert anonymous.get(f"{url}&token={TOKEN}").status_code == 200  # an API token too
    assert sign_in(anonymous, token=pull).status_code == 401
    assert anonymous.get("/periods", headers={"Authorization": f"Bearer {pull}"}
                         ).status_code == 401  # the API takes only its own tokens


def test_the_bearer_api_is_unchanged_beside_the_web_view(anonymous: Any) -> None:
    assert anonymous.get("/periods").status_code == 401
    response = anonymous.get("/periods", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert [p["period"] for p in response.json()["periods"]] == ["2026-09", "2026-10"]
    assert anonymous.get(f"/summary.json?period=2026-10&token={TOKEN}").status_code == 200
    # A session cookie is no API credential.
    sign_in(anonymous)
    assert anonymous.get("/periods").status_code == 401


def test_pages_carry_a_strict_content_security_policy(client: Any) -> None:
    response = client.get("/month/2026-10")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["server-timing"].startswith("app;dur=")


def test_the_web_view_stands_alone_too(web_warehouse: Path) -> None:
    with web_client(create_web_app(web_warehouse, [TOKEN], FILES)) as client:
        assert sign_in(client).status_code == 303
        assert client.get("/month/2026-10").status_code == 200


def test_the_endpoint_still_refuses_weak_tokens(web_warehouse: Path) -> None:
    from costalloc.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="shorter than 16"):
        create_app(web_warehouse, ["short"])
