import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, FastAPI

from app.audit.router import router as audit_router
from app.certificates.router import router as certificates_router
from app.config import Settings, get_settings
from app.dashboard.router import router as dashboard_router
from app.db import make_engine, make_sessionmaker
from app.decisions.expiry import run_expiry_loop
from app.decisions.policy import policy_from_settings
from app.decisions.router import router as decisions_router
from app.distributions.router import router as distributions_router
from app.errors import install_error_handlers
from app.health.router import router as health_router
from app.inspections.router import router as inspections_router
from app.lots.router import router as lots_router
from app.migrations_state import head_revisions
from app.products.router import router as products_router
from app.suppliers.router import router as suppliers_router

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for feature in (
        dashboard_router,  # before suppliers: /suppliers/scorecards is not a supplier id
        suppliers_router,
        products_router,
        lots_router,
        certificates_router,
        inspections_router,
        distributions_router,
        decisions_router,
        audit_router,
    ):
        router.include_router(feature)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.head_revisions = head_revisions()
        expiry = asyncio.create_task(
            run_expiry_loop(
                app.state.sessionmaker, app.state.policy, settings.concession_sweep_seconds
            )
        )
        try:
            yield
        finally:
            expiry.cancel()
            with suppress(asyncio.CancelledError):
                await expiry
            await engine.dispose()

    app = FastAPI(
        title="lotgate",
        version="0.1.0",
        summary="Quality-inspection tracker for incoming lots of masks, respirators and test kits",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.policy = policy_from_settings(settings)
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(api_router())
    return app
