"""The stores' dashboard (its static build) served from the bucket, on the API's own host.

On AWS the build lives under DASHBOARD_PREFIX in the data bucket and this serves it at `/`, the
API being under API_PATH_PREFIX beside it: the browser then calls the API on its own origin,
with the load balancer's login cookie, and no CORS is involved. A path that names no file and
looks like one of the app's own pages (no file extension: `/analytics`, `/trends`) gets the
app's `index.html`, as single-page apps expect.

The files hold no data (the data comes from the API, which checks every call); on AWS the load
balancer asks for the login before any of them is served.
"""

from __future__ import annotations

import mimetypes

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from sales_platform.api.errors import route_path
from sales_platform.domain.bucket_files import check_key
from sales_platform.resources.object_store import ObjectNotFound, ObjectStore

INDEX = "index.html"
# index.html names the current build's files: always asked again; the files themselves for a while.
INDEX_CACHE_CONTROL = "no-cache"
FILE_CACHE_CONTROL = "public, max-age=300"


class DashboardFiles:
    def __init__(self, bucket: ObjectStore, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            await PlainTextResponse("the dashboard's files can only be read", 405, headers={"Allow": "GET, HEAD"})(
                scope, receive, send
            )
            return
        await (await run_in_threadpool(self._response, route_path(scope)))(scope, receive, send)

    def _response(self, path: str) -> Response:
        name = path.strip("/") or INDEX
        try:
            key = check_key(self.prefix + name)
        except ValueError:
            return PlainTextResponse("not a file of the dashboard", 404)
        try:
            return self._file(key, name)
        except ObjectNotFound:
            pass
        if "." in name.rsplit("/", 1)[-1] and name != INDEX:
            return PlainTextResponse(f"the dashboard has no file {name}", 404)
        try:
            return self._file(self.prefix + INDEX, INDEX)
        except ObjectNotFound:
            return PlainTextResponse(
                f"no dashboard build under {self.prefix} in the bucket: upload it (README, Use the existing dashboard)",
                404,
            )

    def _file(self, key: str, name: str) -> Response:
        data = self.bucket.read_bytes(key)
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(
            data,
            media_type=media_type,
            headers={
                "Cache-Control": INDEX_CACHE_CONTROL if name == INDEX else FILE_CACHE_CONTROL,
                "X-Content-Type-Options": "nosniff",
            },
        )
