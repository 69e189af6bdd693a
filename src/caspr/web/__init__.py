"""The web dashboard served by ``caspr serve``: server-rendered pages over the service's store.

Mounted by :func:`caspr.api.app.create_app` with :func:`mount` (the routes and the session
store) and :class:`caspr.web.guard.WebGuard` in place of the API's Guard (the same Guard,
admitting pages by session). Pages: :mod:`caspr.web.pages`; what they read:
:mod:`caspr.web.data`; words, languages and amounts: :mod:`caspr.web.render`; templates in
``templates/``, the stylesheet and the vendored htmx (2.0.11, 0BSD licence beside it) in
``static/``. See docs/service.md, "Web dashboard".
"""

from __future__ import annotations

from fastapi import FastAPI

from caspr.web.guard import WebGuard
from caspr.web.sessions import SessionStore

__all__ = ["WebGuard", "mount"]


def mount(app: FastAPI) -> SessionStore:
    """Add the pages to ``app``; the session store the guard must share."""
    from caspr.web import pages  # noqa: PLC0415 - the routes import the API's modules

    store = SessionStore()
    app.state.web_sessions = store
    app.include_router(pages.router)
    return store
