"""Whether Prefect is configured to talk to a server (`PREFECT_API_URL`), told without importing
Prefect: its import alone takes seconds, more than a run with nothing to do may take.

Read from the places Prefect 3 reads settings from, highest first: the environment, `.env`,
`prefect.toml` (`[api] url`), `pyproject.toml` (`[tool.prefect.api] url`) and the active profile
of the profiles file (`PREFECT_PROFILES_PATH`, else `$PREFECT_HOME/profiles.toml`, else
`~/.prefect/profiles.toml`). Any doubt (a file that does not parse) counts as configured: the
caller then runs the flow, which asks Prefect itself. `tests/flows/test_prefect_api.py` checks
the answer against Prefect's own for each place.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

API_URL = "PREFECT_API_URL"


def api_configured(cwd: Path | None = None) -> bool:
    """True when a Prefect server (or Prefect Cloud) would record this process's flow runs."""
    here = cwd or Path.cwd()
    environment = {key.upper(): value for key, value in os.environ.items()}
    if API_URL in environment:
        return bool(environment[API_URL])
    try:
        dotenv = _dotenv(here / ".env")
        if dotenv.get(API_URL):
            return True
        prefect_toml = _toml(here / "prefect.toml")
        pyproject = _toml(here / "pyproject.toml").get("tool", {}).get("prefect", {})
        if _api_url(prefect_toml) or _api_url(pyproject):
            return True
        profiles_path = (environment.get("PREFECT_PROFILES_PATH")
                         or dotenv.get("PREFECT_PROFILES_PATH")
                         or prefect_toml.get("profiles_path") or pyproject.get("profiles_path"))
        if profiles_path:
            profiles = Path(profiles_path)
        elif environment.get("PREFECT_HOME"):
            profiles = Path(environment["PREFECT_HOME"]) / "profiles.toml"
        else:
            profiles = Path.home() / ".prefect" / "profiles.toml"
        return _profile_sets_url(_toml(profiles), environment.get("PREFECT_PROFILE"))
    except (OSError, ValueError, AttributeError):  # unreadable: let Prefect decide
        return True


def _api_url(table: Mapping[str, Any]) -> bool:
    api = table.get("api", {})
    return bool(isinstance(api, Mapping) and api.get("url"))


def _profile_sets_url(profiles: Mapping[str, Any], chosen: str | None) -> bool:
    active = chosen or profiles.get("active")
    profile = profiles.get("profiles", {}).get(active, {}) if active else {}
    return any(key.upper() == API_URL and bool(value) for key, value in profile.items())


def _toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines (an `export ` prefix, quotes and comments allowed), keys upper-cased."""
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        line = line.strip().removeprefix("export ").strip()
        key, equals, value = line.partition("=")
        if equals and not key.startswith("#"):
            value = value.split(" #", 1)[0].strip().strip("'\"")
            found[key.strip().upper()] = value
    return found
