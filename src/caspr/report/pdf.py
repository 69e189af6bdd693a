"""HTML to PDF: WeasyPrint (the ``report`` extra) or, failing that, a headless Chromium.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0). Japanese text needs a
Japanese font known to fontconfig (Debian: fonts-ipaexfont-gothic or fonts-noto-cjk;
check with ``fc-list :lang=ja``); without one the PDF shows empty boxes where kanji belong.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from caspr.errors import CasprError

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 120
NO_ENGINE = (
    "no PDF engine: install the report extra (pip install 'caspr[report]': WeasyPrint, which needs "
    "Pango) or Chromium (/usr/bin/chromium), or write .html instead"
)


class NoPdfEngine(CasprError):
    """Neither WeasyPrint nor a Chromium is installed."""


def engine() -> str | None:
    """``weasyprint``, ``chromium`` (the path of the browser) or None: what would make the PDF."""
    try:
        import weasyprint  # noqa: F401, PLC0415 - optional extra
    except (ImportError, OSError):  # OSError: WeasyPrint installed but Pango missing
        pass
    else:
        return "weasyprint"
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    return None


def japanese_font() -> bool:
    """Whether fontconfig knows a font with Japanese glyphs (``fc-list :lang=ja``)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    listed = subprocess.run([fc_list, ":lang=ja"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def render(document: str) -> bytes:
    """The PDF of an HTML ``document`` (self-contained: nothing is fetched).

    Raises:
        NoPdfEngine: no engine; the message says what to install.
    """
    which = engine()
    if which is None:
        raise NoPdfEngine(NO_ENGINE)
    if which == "weasyprint":
        from weasyprint import HTML  # noqa: PLC0415

        logging.getLogger("weasyprint").setLevel(logging.ERROR)  # missing glyphs are said in docs/report.md

        # a fetcher that refuses everything: the document is self-contained by design
        def refuse(url: str) -> dict[str, object]:
            msg = f"the report fetches nothing ({url})"
            raise ValueError(msg)

        pdf: bytes = HTML(string=document, url_fetcher=refuse).write_pdf()
        return pdf
    with tempfile.TemporaryDirectory(prefix="caspr-pdf-") as folder:
        page, out = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(document, encoding="utf-8")
        subprocess.run(
            [
                which,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
        )
        return out.read_bytes()
