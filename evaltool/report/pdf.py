"""PDF rendering with WeasyPrint, which may fetch nothing but what evaltool itself wrote.

The URL fetcher serves ``data:`` URLs and files inside the output folder only; every other request
(``file:`` outside it, ``http(s):``, anything else) is refused and fails the render, so a hostile
string can neither read local files into the PDF nor reach the network, and evidence is never
dropped silently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from evaltool.errors import ReportError


class SafeFetcher:
    """A WeasyPrint URL fetcher confined to ``data:`` URLs and files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self.refused: list[str] = []

    def __call__(self, url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
        if url.startswith("data:"):
            from weasyprint.urls import default_url_fetcher

            result: dict[str, Any] = default_url_fetcher(url)
            return result
        parsed = urlparse(url)
        if parsed.scheme == "file" and not parsed.netloc:
            target = Path(os.path.realpath(unquote(parsed.path)))
            if self.root in target.parents and target.is_file():
                return {"string": target.read_bytes(), "mime_type": _mime(target),
                        "redirected_url": url}
        shown = url if len(url) < 120 else url[:117] + "..."
        self.refused.append(shown)
        raise ReportError(f"the report tried to load {shown!r}, which is not allowed")


def _mime(path: Path) -> str:
    return {".svg": "image/svg+xml", ".png": "image/png", ".css": "text/css"}.get(
        path.suffix.lower(), "application/octet-stream")


def render_pdf(html: str, out_dir: Path) -> bytes:
    """Render ``html`` to PDF bytes; resources may come only from ``out_dir``."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise ReportError(f"WeasyPrint is not usable ({exc}); install Pango (libpango-1.0-0) "
                          "and reinstall evaltool") from None
    fetcher = SafeFetcher(out_dir)
    base = out_dir.resolve().as_uri() + "/"
    try:
        document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render()
        data: bytes = document.write_pdf()
    except ReportError:
        raise
    except Exception as exc:  # WeasyPrint raises many types; any failure means no report
        raise ReportError(f"PDF rendering failed ({type(exc).__name__}: {exc})") from None
    if fetcher.refused:
        raise ReportError(f"the report tried to load {len(fetcher.refused)} resource(s) that are "
                          f"not allowed (first: {fetcher.refused[0]!r})")
    return data
