"""Sign-in (an API key exchanged for a session cookie), sign-out, and the start page."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from app.auth.dependencies import actor_for_digest
from app.auth.gate import TooManyFailures, client_address, verified_key
from app.auth.keys import ActiveKey, find_active_key, hash_key
from app.deps import SessionDep
from app.errors import Unauthorized
from app.ui.rendering import CheckedForm, PageRoute, Visitor, render, signed_in
from app.ui.sessions import CSRF_FIELD, PageSession, session_cookies

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HOME = "/ui/lots"
REASONS = {
    "revoked": "Your key was revoked or your session ran out: sign in again.",
    "signed-out": "You are signed out.",
}


def _local_target(target: str | None) -> str:
    """Only a page of this site: never send a signed-in browser elsewhere."""
    if target and target.startswith("/ui/") and not target.startswith("/ui//"):
        return target
    return HOME


async def _visitor_or_none(request: Request, session: SessionDep) -> Visitor | None:
    page_session = session_cookies(request).read(request)
    if page_session is None or page_session.key_digest is None:
        return None
    actor = await actor_for_digest(request, session, page_session.key_digest)
    return Visitor(actor, page_session) if actor else None


@router.get("/", name="ui_home")
async def home(request: Request, session: SessionDep) -> Response:
    """Where the pages and the API documentation are."""
    visitor = await _visitor_or_none(request, session)
    return render(request, "home.html", {}, visitor=visitor)


def _sign_in_form(
    request: Request,
    *,
    next_path: str | None,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    cookies = session_cookies(request)
    page_session = cookies.read(request) or PageSession.anonymous()
    response = render(
        request,
        "sign_in.html",
        {
            "csrf": page_session.csrf,
            "next": _local_target(next_path),
            "message": message,
            "error": error,
        },
        status_code=status_code,
    )
    cookies.write(request, response, page_session)
    return response


@router.get("/ui/sign-in", name="ui_sign_in")
async def sign_in_page(
    request: Request, next: str | None = None, reason: str | None = None
) -> Response:
    return _sign_in_form(request, next_path=next, message=REASONS.get(reason or ""))


@router.post("/ui/sign-in", name="ui_sign_in_post")
async def sign_in(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    cookies = session_cookies(request)
    current = cookies.read(request)
    if current is None or not current.csrf_matches(csrf_token):
        return _sign_in_form(
            request,
            next_path=next,
            error="The form was out of date or your browser refused its cookie; "
            "cookies must be allowed for this site. Try again.",
            status_code=403,
        )
    token = api_key.strip()

    async def lookup(digest: str) -> ActiveKey | None:
        return await find_active_key(session, digest)

    # The API's own check: a key guessed here counts against the address as it would there.
    try:
        await verified_key(request.app.state, token, client_address(request.scope), lookup)
    except TooManyFailures as refused:
        page = _sign_in_form(request, next_path=next, error=refused.detail, status_code=429)
        page.headers.update(refused.headers or {})
        return page
    except Unauthorized:
        return _sign_in_form(
            request, next_path=next, error="That key is unknown or revoked.", status_code=401
        )
    digest = hash_key(token)
    response = RedirectResponse(_local_target(next), status_code=303)
    cookies.write(request, response, PageSession.signed_in(digest))
    return response


@router.post("/ui/sign-out", name="ui_sign_out")
async def sign_out(request: Request, session: SessionDep, form: CheckedForm) -> Response:
    response = RedirectResponse("/ui/sign-in?reason=signed-out", status_code=303)
    session_cookies(request).clear(request, response)
    return response


@router.get("/ui", name="ui_index")
async def pages_index(request: Request, session: SessionDep) -> Response:
    await signed_in(request, session)
    return RedirectResponse(HOME, status_code=303)
