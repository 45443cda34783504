"""A provider's manifest as JSON, or the one reason it is not.

Manifests are small documents, parsed whole. What can go wrong besides a syntax error is
named too: text that is not UTF-8, and nesting deeper than Python's parser recurses (which
would otherwise escape as a `RecursionError`).
"""

from __future__ import annotations

import json
from typing import Any


class NotJson(ValueError):
    """The bytes are not a JSON document; the message says why, in a few words."""


def manifest_json(data: bytes) -> Any:
    """`data` (UTF-8, a byte order mark allowed) as a JSON value."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise NotJson(f"not UTF-8 text: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise NotJson(f"{error.msg} at line {error.lineno}") from None
    except RecursionError:
        raise NotJson("nested deeper than the parser follows") from None
