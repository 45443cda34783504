"""Announce new budget breaches to a webhook as Slack-compatible JSON.

The URL comes from the environment (`COSTALLOC_BUDGET_WEBHOOK`), never from a file, and is never
logged or put in an error: a Slack incoming-webhook URL is a credential. The payload has a plain
`text` (what any Slack-compatible receiver shows, and the notification preview) and `blocks`
(one section per breach, Slack mrkdwn). No webhook set: nothing is sent.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from costalloc.core.errors import ConfigurationError, TransientError
from costalloc.reports.finance.rounding import quantum
from costalloc.reports.planning.breaches import Breach
from costalloc.reports.planning.review import displayed

WEBHOOK_VARIABLE = "COSTALLOC_BUDGET_WEBHOOK"
TIMEOUT_SECONDS = 10.0
_MAX_BLOCKS = 48  # Slack accepts 50 blocks per message: a header, the breaches, a "more" line

log = logging.getLogger(__name__)


class NotificationError(TransientError):
    """The webhook did not accept the message; the breaches stay recorded."""


def webhook_url_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The webhook URL in `COSTALLOC_BUDGET_WEBHOOK`, or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(WEBHOOK_VARIABLE, "").strip()
    return value or None


def slack_payload(breaches: Sequence[Breach]) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` for every receiver, `blocks` for Slack."""
    periods = sorted({str(b.period) for b in breaches})
    summary = (f"costalloc: {len(breaches)} budget breach(es) in {', '.join(periods)}"
               if breaches else "costalloc: no new budget breaches")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary[:150]}}]
    for breach in breaches[:_MAX_BLOCKS]:
        step = quantum(breach.currency)
        spent = displayed([breach.actual], step)[0]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*{_escape(breach.budget_id)}* ({_escape(breach.scope)}), owner "
            f"{_escape(breach.owner)}\n{_escape(breach.message)}\n"
            f"spent {spent:,} {breach.currency}")}})
    if len(breaches) > _MAX_BLOCKS:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"…and {len(breaches) - _MAX_BLOCKS} more; see the run's budget-breaches "
            "artifact")}]})
    lines = [summary] + [f"• {b.message}" for b in breaches]
    return {"text": "\n".join(lines), "blocks": blocks}


def notify(breaches: Sequence[Breach], webhook_url: str | None, *,
           timeout: float = TIMEOUT_SECONDS) -> bool:
    """POST the new `breaches` to `webhook_url` (e.g. `webhook_url_from_env()`). Returns False
    when there is nothing to send or no webhook; raises `NotificationError` when the webhook
    does not answer 2xx (the message names the status, never the URL)."""
    if not breaches or not webhook_url:
        return False
    scheme = urlsplit(webhook_url).scheme.lower()
    if scheme not in ("https", "http"):
        raise ConfigurationError(f"{WEBHOOK_VARIABLE} must be an https:// (or http://) URL; "
                                 f"its scheme is `{scheme or 'missing'}`")
    body = json.dumps(slack_payload(breaches)).encode()
    request = urllib.request.Request(webhook_url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "costalloc"})
    what = f"the budget webhook ({WEBHOOK_VARIABLE})"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
            status = int(response.status)
    except urllib.error.HTTPError as error:
        raise NotificationError(f"{what} answered HTTP {error.code}; {len(breaches)} breach(es) "
                                "are recorded but were not announced") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        kind = type(reason).__name__ if not isinstance(reason, str) else "connection error"
        raise NotificationError(f"{what} could not be reached ({kind}); {len(breaches)} "
                                "breach(es) are recorded but were not announced") from None
    if not 200 <= status < 300:
        raise NotificationError(f"{what} answered HTTP {status}; {len(breaches)} breach(es) are "
                                "recorded but were not announced")
    log.info("announced %d budget breach(es) to %s", len(breaches), what)
    return True


def _escape(text: str) -> str:
    """Slack mrkdwn: `&`, `<` and `>` are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
