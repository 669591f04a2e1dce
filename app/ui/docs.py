"""The API documentation, served whole by the app: Swagger UI at /docs, ReDoc at /redoc.

Their scripts and styles are the ones fastapi-offline bundles (no CDN: a hospital
intranet without internet access gets working docs). Both pages also get a language,
colours that read (WCAG AA contrast) and labels on ReDoc's media-type selectors; ReDoc may
not fetch its makers' logo from the internet (Content-Security-Policy img-src).
"""

import json
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/static-offline-docs"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
OVERRIDES_URL = "/ui/static/docs.css"

REDOC_OPTIONS = {"hideLoading": True}
# Redoc's grey headings read at 2.9:1 on white, its red code at 3.9:1, its response tabs
# at 3.5:1 on its dark panel: darker text on white, lighter on the dark panel.
REDOC_STYLE = """
body { margin: 0; padding: 0; }
#redoc h5 { color: #4e565b !important; }
#redoc code { color: #b0211d !important; }
#redoc li[role=tab].tab-error { color: #ff8f8a !important; }
#redoc li[role=tab].tab-success { color: #7ad483 !important; }
#redoc li[role=tab].tab-redirect, #redoc li[role=tab].tab-info { color: #ffc766 !important; }
#redoc li[role=tab].tab-error[aria-selected=true] { color: #a8201a !important; }
#redoc li[role=tab].tab-success[aria-selected=true] { color: #1a6e22 !important; }
#redoc li[role=tab][aria-selected=true]:is(.tab-redirect, .tab-info) { color: #7a4a00 !important; }
"""

# ReDoc draws a <select> of media types without a label; screen readers then announce
# "combo box" and nothing else.
LABEL_SELECTS = """
function labelSelects() {
  document.querySelectorAll("select:not([aria-label])").forEach(function (select) {
    select.setAttribute("aria-label", "Media type");
  });
}
new MutationObserver(labelSelects).observe(document.body, {childList: true, subtree: true});
"""


def _redoc_html(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" href="{ASSETS_URL}/favicon.png">
<style>{REDOC_STYLE}</style>
</head>
<body>
<div id="redoc"></div>
<script src="{ASSETS_URL}/redoc.standalone.js"></script>
<script>
{LABEL_SELECTS}
Redoc.init({json.dumps(openapi_url)}, {json.dumps(REDOC_OPTIONS)},
  document.getElementById("redoc"), labelSelects);
</script>
</body>
</html>"""


def install_docs(app: FastAPI) -> None:
    """For an app made with docs_url=None and redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="static-offline-docs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        html = bytes(page.body).decode()
        html = html.replace("<html>", '<html lang="en">', 1).replace(
            "</head>", f'<link rel="stylesheet" href="{OVERRIDES_URL}">\n</head>', 1
        )
        return HTMLResponse(html)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(
            _redoc_html(app.title, openapi_url),
            headers={"Content-Security-Policy": "img-src 'self' data: blob:"},
        )
