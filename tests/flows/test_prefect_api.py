"""`flows.prefect_api.api_configured` (told without importing Prefect) agrees with Prefect's own
settings for every place a server's address can be configured, and for none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from costalloc.flows.prefect_api import api_configured

pytestmark = pytest.mark.slow
URL = "http://127.0.0.1:4200/api"
PREFECTS_ANSWER = ("from prefect.settings import get_current_settings; "
                   "print(bool(get_current_settings().api.url))")
PROFILES = f"""\
active = "remote"

[profiles.local]
PREFECT_LOGGING_LEVEL = "INFO"

[profiles.remote]
PREFECT_API_URL = "{URL}"
"""

# place → (files written in the working directory or PREFECT_HOME, environment)
PLACES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "nowhere": ({}, {}),
    "environment": ({}, {"PREFECT_API_URL": URL}),
    "empty environment variable": ({}, {"PREFECT_API_URL": ""}),
    ".env": ({".env": f"PREFECT_API_URL={URL}\n"}, {}),
    "prefect.toml": ({"prefect.toml": f'[api]\nurl = "{URL}"\n'}, {}),
    "pyproject.toml": ({"pyproject.toml": f'[tool.prefect.api]\nurl = "{URL}"\n'}, {}),
    "active profile": ({"home/profiles.toml": PROFILES}, {}),
    "another profile chosen": ({"home/profiles.toml": PROFILES}, {"PREFECT_PROFILE": "local"}),
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_told_as_prefect_tells_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  place: str) -> None:
    files, extra = PLACES[place]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PREFECT_") or key == "PREFECT_SERVER_ANALYTICS_ENABLED"}
    env.update({"PREFECT_HOME": str(tmp_path / "home"), **extra})
    prefect = subprocess.run([sys.executable, "-c", PREFECTS_ANSWER], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=True)

    for key in [k for k in os.environ if k.startswith("PREFECT_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("PREFECT_"):
            monkeypatch.setenv(key, value)
    assert api_configured(tmp_path) is (prefect.stdout.strip() == "True")
    assert api_configured(tmp_path) is (place in {"environment", ".env", "prefect.toml",
                                                  "pyproject.toml", "active profile"})
