"""Signing in to the web view with an API token, and the tokens a spreadsheet pulls with.

A person signs in with one of the `COSTALLOC_API_TOKENS`. The session cookie never holds the
token: it holds an expiry, a random nonce and which token signed in, under an HMAC keyed by that
token and salted with a secret of this server process. So a session ends when it expires, when
its token is removed from the environment (and the server restarted), when the server restarts,
or when the person signs out (its nonce is refused from then on). The cookie is HttpOnly,
SameSite=Strict, expiring, and Secure whenever the request came over HTTPS.

Forms are protected against cross-site requests three ways: the cookies are SameSite=Strict (a
cross-site POST carries none), a POST whose `Origin` (or `Sec-Fetch-Site`) says it came from
another site is refused, and every form carries a token the server checks — for signing in, a
random value also set in a short-lived cookie (so nobody can sign a victim in to their own
session); for signing out, an HMAC of the session's nonce.

A *pull token* is what a spreadsheet uses to fetch a table (`?token=` or a bearer header): an
HMAC of the signed-in token, so it stays valid across restarts, is revoked with the token it
derives from, and can fetch tables but not sign in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

SESSION_COOKIE = "costalloc_session"
SIGN_IN_COOKIE = "costalloc_sign_in"
SESSION_SECONDS = 8 * 3600  # a working day
SIGN_IN_SECONDS = 1800  # a sign-in form is good for half an hour
_PULL_LABEL = b"costalloc pull token v1"


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int  # unix seconds
    slot: int  # which configured token signed in


class Keyring:
    """The accepted tokens, sessions signed with them, and the pull tokens derived from them."""

    def __init__(self, tokens: Sequence[str], *, lifetime: int = SESSION_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._tokens = [token.encode() for token in tokens]
        self._pull = [_pull_token(token).encode() for token in self._tokens]
        self._secret = secrets.token_hex(32)
        self._signed_out: dict[str, int] = {}
        self._lock = threading.Lock()  # requests run in a thread pool
        self.lifetime = lifetime
        self._clock = clock

    def slot_of(self, token: str) -> int | None:
        """Which configured token `token` is (compared in constant time with every one)."""
        supplied = token.encode()
        found = None
        for index, accepted in enumerate(self._tokens):
            if hmac.compare_digest(supplied, accepted):
                found = index
        return found if supplied else None

    def pull_allowed(self, token: str) -> bool:
        """A configured token or a pull token derived from one."""
        supplied = token.encode()
        matched = False
        for accepted in (*self._tokens, *self._pull):
            matched |= hmac.compare_digest(supplied, accepted)
        return bool(supplied) and matched

    def open(self, slot: int) -> tuple[Session, str]:
        """A new session for the token in `slot`, and its cookie value."""
        session = Session(secrets.token_urlsafe(18), int(self._clock()) + self.lifetime, slot)
        return session, f"{session.expires}.{session.nonce}.{slot}.{self._mac(session)}"

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie value stands for, if it is genuine, unexpired, not signed out."""
        if not cookie or cookie.count(".") != 3:
            return None
        expires, nonce, slot, mac = cookie.split(".")
        if not expires.isdigit() or not slot.isdigit() or int(slot) >= len(self._tokens):
            return None
        session = Session(nonce, int(expires), int(slot))
        if not hmac.compare_digest(mac.encode(), self._mac(session).encode()):
            return None
        with self._lock:
            signed_out = nonce in self._signed_out
        if session.expires <= self._clock() or signed_out:
            return None
        return session

    def close(self, session: Session) -> None:
        """Sign `session` out: its cookie is refused until it would have expired anyway."""
        now = self._clock()
        with self._lock:
            self._signed_out = {n: e for n, e in self._signed_out.items() if e > now}
            self._signed_out[session.nonce] = session.expires

    def sign_out_token(self, session: Session) -> str:
        """The value a sign-out form must carry for `session`."""
        return _digest(self._secret.encode(), f"sign-out|{session.nonce}".encode())

    def pull_token(self, session: Session) -> str:
        return self._pull[session.slot].decode()

    def _mac(self, session: Session) -> str:
        message = f"{self._secret}|{session.expires}|{session.nonce}|{session.slot}".encode()
        return _digest(self._tokens[session.slot], message)


def _digest(key: bytes, message: bytes) -> str:
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _pull_token(token: bytes) -> str:
    return "pull-" + _digest(token, _PULL_LABEL)


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def same_form_token(expected: str | None, supplied: str | None) -> bool:
    return bool(expected) and bool(supplied) and hmac.compare_digest(
        (expected or "").encode(), (supplied or "").encode())


def cross_site(request: Request) -> bool:
    """Whether the browser says this request came from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() != host.lower()


def is_https(request: Request) -> bool:
    """HTTPS as the browser sees it (uvicorn applies `X-Forwarded-Proto` from a trusted proxy)."""
    return request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
