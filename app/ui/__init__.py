"""Server-rendered pages for people with a browser (under /ui, linked from /)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.ui import lot_pages, overview_pages, recall_pages, sign_in
from app.ui.docs import install_docs
from app.ui.sessions import SessionCookies

STATIC = Path(__file__).parent / "static"


def install_pages(app: FastAPI, settings: Settings) -> None:
    app.state.session_cookies = SessionCookies(settings)
    install_docs(app)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    for router in (sign_in.router, lot_pages.router, recall_pages.router, overview_pages.router):
        app.include_router(router, max_body_size=settings.max_body_bytes)
