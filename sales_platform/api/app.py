"""The REST API the dashboard and the store upload scripts call (the legacy contract's paths,
parameters and field names), on FastAPI.

`create_app` reads nothing from the environment: it gets the settings, and builds the bucket
and table from them unless given. `app_from_environment` is what uvicorn's workers import.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.applications import Starlette
from starlette.routing import Mount

from sales_platform.api.alb_login import LOGIN_HEADER, AlbLogin
from sales_platform.api.context import ApiContext
from sales_platform.api.dashboard_reads import DashboardReader
from sales_platform.api.dashboard_site import DashboardFiles
from sales_platform.api.docs_page import install_offline_docs
from sales_platform.api.errors import JsonCorsMiddleware, RedactSignatures, RequestGuard, install_error_handlers
from sales_platform.api.file_listing import FileLister
from sales_platform.api.routes import bucket_objects, dashboard, downloads, files, health, uploads
from sales_platform.api.security import API_KEY_HEADER, AccessGuard, ApiKeys, document_api_key
from sales_platform.api.url_signing import local_url_signer
from sales_platform.api.view_cache import ViewCache
from sales_platform.resources.local_object_store import LocalObjectStore
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings, load_settings

logger = logging.getLogger("sales_platform.api")

DESCRIPTION = f"""
Files, analytics and trends of the sales platform, for the dashboard and the stores' upload scripts.

Every endpoint needs an `{API_KEY_HEADER}` header holding one of `API_KEYS`, or (with `ALB_ARN`
set) a login the load balancer signed in `{LOGIN_HEADER}`, except `/health`, these docs, and the
signed `/bucket/...` URLs handed out by `/generate-upload-url` and `/generate-download-url` (their
signature and expiry are their authorization). Errors are JSON: `{{"message": "..."}}`.
"""


def create_app(settings: Settings, bucket: ObjectStore | None = None, table: MetricsTable | None = None) -> Starlette:
    """The API, at / or under API_PATH_PREFIX with the dashboard's files (DASHBOARD_PREFIX) at /."""
    if bucket is None or table is None:
        from sales_platform.resources.factory import build_bucket, build_table

        bucket = bucket or build_bucket(settings)
        table = table or build_table(settings)
    api = _api(settings, bucket, table)
    if not settings.api.api_path_prefix:
        return api
    context: ApiContext = api.state.context
    routes = [Mount(settings.api.api_path_prefix, app=api)]
    if settings.api.dashboard_prefix:
        routes.append(Mount("", app=DashboardFiles(bucket, settings.api.dashboard_prefix)))

    @asynccontextmanager
    async def lifespan(site: Starlette):  # a mounted app's own lifespan does not run
        yield
        context.close()

    site = Starlette(routes=routes, lifespan=lifespan)
    site.state.context = context
    return site


def _api(settings: Settings, bucket: ObjectStore, table: MetricsTable) -> FastAPI:
    context = ApiContext(
        settings=settings,
        bucket=bucket,
        table=table,
        signer=local_url_signer(settings),
        dashboard=DashboardReader(table, settings.stores.expected_stores),
        files=FileLister(bucket, settings.storage.layout),
        views=ViewCache(settings.api.api_cache_seconds, table.change_token),
        dates=ViewCache(settings.api.api_cache_seconds, table.change_token),
    )
    api_keys = ApiKeys(settings)
    if not api_keys.required:
        logger.warning("API_KEYS is not set: the API answers anyone who can reach it")
    login = None
    if settings.api.alb_arn and settings.resolved_alb_public_keys_url:
        login = AlbLogin(settings.api.alb_arn, settings.resolved_alb_public_keys_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if isinstance(bucket, LocalObjectStore):
            # What an upload broke off by a killed server left, where the kernel could not
            # take it away itself (see LocalObjectStore.writer).
            removed = bucket.remove_abandoned_writes()
            if removed:
                logger.info("removed %d upload(s) a stopped server left half-written", removed)
        yield
        context.close()

    app = FastAPI(
        title="sales_platform API",
        version="1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.context = context
    install_error_handlers(app)
    # The dashboard's endpoints first: they are asked most, and routes are matched in order.
    for module in (dashboard, health, uploads, files, downloads, bucket_objects):
        app.include_router(module.router)
    install_offline_docs(app)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = document_api_key(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # Added last is outermost: CORS headers also go on the access check's 401/403 and on the
    # guard's 413 and 500 answers.
    app.add_middleware(RequestGuard, max_request_bytes=settings.api.max_request_bytes)
    app.add_middleware(AccessGuard, keys=api_keys, login=login)
    app.add_middleware(
        JsonCorsMiddleware,
        allow_origins=settings.api.frontend_origins,
        allow_methods=["GET", "POST", "PUT", "OPTIONS"],
        # The request headers the legacy API Gateway allowed, so the dashboard's preflights
        # pass unchanged; the API reads only Content-Type and the key.
        allow_headers=["Content-Type", "X-Amz-Date", "Authorization", API_KEY_HEADER, "X-Amz-Security-Token"],
        # The legacy API answered with credentials allowed; with named origins (never "*")
        # a dashboard that sends them keeps working.
        allow_credentials=True,
        expose_headers=["Content-Disposition"],
    )
    return app


def install_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactSignatures) for existing in access.filters):
        access.addFilter(RedactSignatures())


def app_from_environment() -> Starlette:
    """The app as `sales-platform api` serves it, in each uvicorn worker."""
    from sales_platform.api.server import BoundedHttpProtocol

    settings = load_settings()
    logging.basicConfig(level=settings.runtime.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    BoundedHttpProtocol.configure(settings)
    return create_app(settings)
