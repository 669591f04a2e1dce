"""Templates, the signed-in person, and how a page answers a refusal (as a page).

A page route raises the same errors as the JSON routes (ProblemError); PageRoute shows
them as an HTML page with the same status, and sends a visitor who is not signed in
(or whose key was revoked, or whose session expired) to the sign-in page.
"""

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from app.actor import Actor
from app.auth.dependencies import actor_for_digest, role_allows
from app.auth.models import Role
from app.deps import SessionDep
from app.errors import Forbidden, ProblemError
from app.paging import PageParams
from app.ui import words
from app.ui.sessions import CSRF_FIELD, PageSession, session_cookies

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    when=words.when,
    day=words.day,
    number=words.number,
    label=words.label,
    trigger=words.trigger,
    percent=words.percent,
    plain=words.plain,
)
templates.env.globals.update(CSRF_FIELD=CSRF_FIELD, status_label=words.status_label)

SIGN_IN_PATH = "/ui/sign-in"


@dataclass(frozen=True)
class Visitor:
    """The person signed in: their key's holder and role, and their session."""

    actor: Actor
    session: PageSession

    def may(self, *roles: Role) -> bool:
        return role_allows(self.actor.role, *roles)

    @property
    def may_acknowledge(self) -> bool:
        return self.may(Role.returns)

    @property
    def may_export(self) -> bool:
        return self.may(Role.returns)


class SignInRequired(Exception):
    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason


async def signed_in(request: Request, session: SessionDep) -> Visitor:
    page_session = session_cookies(request).read(request)
    if page_session is None or page_session.key_digest is None:
        raise SignInRequired()
    actor = await actor_for_digest(request, session, page_session.key_digest)
    if actor is None:
        raise SignInRequired("revoked")
    return Visitor(actor, page_session)


SignedIn = Annotated[Visitor, Depends(signed_in)]


async def checked_form(request: Request, visitor: SignedIn) -> Mapping[str, Any]:
    """The posted form, once its CSRF token is the session's."""
    form = await request.form()
    if not visitor.session.csrf_matches(form.get(CSRF_FIELD)):
        raise Forbidden(
            "This form is out of date or did not come from this site (CSRF token missing "
            "or wrong). Load the page again and resend it."
        )
    return form


CheckedForm = Annotated[Mapping[str, Any], Depends(checked_form)]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    visitor: Visitor | None = None,
    status_code: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {"visitor": visitor, "path": request.url.path, **context},
        status_code=status_code,
    )


def _sign_in_redirect(request: Request, reason: str | None) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": target} if request.method == "GET" else {}
    if reason:
        query["reason"] = reason
    response = RedirectResponse(
        SIGN_IN_PATH + ("?" + urlencode(query) if query else ""), status_code=303
    )
    if reason:
        session_cookies(request).clear(request, response)
    return response


def _problem_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status)


class PageRoute(APIRoute):
    """A route whose refusals are pages, not problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return _sign_in_redirect(request, exc.reason)
            except ProblemError as exc:
                return _problem_page(request, exc.status, exc.title, exc.detail)
            except RequestValidationError as exc:
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
                    for e in exc.errors()
                )
                return _problem_page(request, 422, "Unprocessable content", detail)

        return page_handler


def page_of(request: Request, limit: int, cursor: str | None = None) -> PageParams:
    """The API's keyset paging for a page's list: cursors are bound to the page's own path
    and filters, as the API's are to its own (no Link header: the page renders its links)."""
    return PageParams(limit=limit, cursor=cursor, request=request, response=Response())


def query_with(request: Request, **changes: str | None) -> str:
    """The page's query string with some parameters replaced (None: removed)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    return urlencode(items)


def as_date(value: datetime | None) -> date | None:
    return value.date() if value else None
