"""MkDocs hook: links from a page to the repository's own files (`../sql/schema/x.sql`).

On GitHub and in an editor such a link opens the file; the site holds only docs/, so there it
would be dead. The hook checks that the file exists and then links it under `repo_url` when
mkdocs.yml sets one, or leaves its text unlinked when not. A link to a file that does not exist is
left as it is, so `mkdocs build --strict` fails on it like on any dead link.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

OUTSIDE = re.compile(r"(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<target>\.\./[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs = Path(config["docs_dir"]).resolve()
    repository = docs.parent
    here = (docs / page.file.src_path).parent
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def relink(match: re.Match[str]) -> str:
        target = (here / match["target"]).resolve()
        if not target.exists() or not target.is_relative_to(repository) or target.is_relative_to(docs):
            return match[0]  # dead, or not the repository's: MkDocs judges it
        if not repo_url:
            return match["text"]
        path = target.relative_to(repository).as_posix()
        return f"[{match['text']}]({repo_url}/blob/HEAD/{path}{match['anchor'] or ''})"

    return OUTSIDE.sub(relink, markdown)
