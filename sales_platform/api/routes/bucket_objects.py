"""`PUT/GET /bucket/<key>`: the signed URLs of a local-folder bucket, standing in for S3's
presigned ones. The signature and expiry in the query are the only authorization, as with S3,
so they are exempt from X-Api-Key and a browser can use them as they are."""

from __future__ import annotations

import contextlib
import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sales_platform.api.context import ApiContext, get_context
from sales_platform.api.schemas import Message, StoredObject
from sales_platform.api.url_signing import SignatureRefused
from sales_platform.domain.bucket_files import check_key, check_upload_file_name, content_disposition, under_any
from sales_platform.resources.local_object_store import LocalObjectStore
from sales_platform.resources.object_store import ObjectNotFound

router = APIRouter(tags=["signed URLs"])
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": Message, "description": "Not a key this URL can be for."},
    403: {"model": Message, "description": "Signature missing, changed or expired."},
    404: {"model": Message, "description": "No such file, or the bucket is not a local folder."},
}
Expires = Annotated[str | None, Query(description="Unix time the URL stops working.")]
Signature = Annotated[str | None, Query(description="HMAC-SHA256 issued with the URL.")]


def _checked(
    context: ApiContext, method: str, key: str, expires: str | None, signature: str | None, filename: str | None = None
) -> LocalObjectStore:
    if context.signer is None or not isinstance(context.bucket, LocalObjectStore):
        raise HTTPException(404, "this bucket is on S3: use the presigned URL the API issued")
    try:
        check_key(key)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    try:
        context.signer.verify(method, key, expires, signature, filename)
    except SignatureRefused as error:
        raise HTTPException(403, str(error)) from None
    return context.bucket


@router.put(
    "/bucket/{key:path}",
    response_model=StoredObject,
    responses={**_REFUSALS, 413: {"model": Message, "description": "Larger than MAX_UPLOAD_BYTES."}},
    summary="Upload to a signed URL (local bucket)",
)
async def put_object(
    key: str,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    expires: Expires = None,
    signature: Signature = None,
) -> StoredObject:
    bucket = _checked(context, "PUT", key, expires, signature)
    layout = context.settings.storage.layout
    name = key.removeprefix(layout.upload_prefix)
    try:
        if not key.startswith(layout.upload_prefix):
            raise ValueError(f"uploads go to {layout.upload_prefix}")
        check_upload_file_name(name)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    limit = context.settings.ingest.max_upload_bytes
    too_large = f"the file is larger than {limit:,} bytes (MAX_UPLOAD_BYTES)"
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise HTTPException(413, too_large)
    # Streamed to disk, never held in memory, into a file the bucket publishes in one rename,
    # so the upload sensor never sees half a file. A refused or broken-off upload leaves
    # nothing, and neither does a server killed halfway (see LocalObjectStore.writer).
    size = 0
    with bucket.writer(key) as handle:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, too_large)
            handle.write(chunk)
    return StoredObject(key=key, size=size)


@router.get(
    "/bucket/{key:path}",
    response_class=FileResponse,
    responses={
        **_REFUSALS,
        200: {"description": "The file, as an attachment.", "content": {"application/octet-stream": {}}},
    },
    summary="Download from a signed URL (local bucket)",
)
async def get_object(
    key: str,
    context: Annotated[ApiContext, Depends(get_context)],
    expires: Expires = None,
    signature: Signature = None,
    filename: Annotated[str | None, Query(description="The name the file is saved as.")] = None,
) -> FileResponse:
    bucket = _checked(context, "GET", key, expires, signature, filename)
    if not under_any(key, context.download_prefixes):
        raise HTTPException(400, f"only files under {', '.join(context.download_prefixes)} can be downloaded")
    name = filename or key.rsplit("/", 1)[-1]
    # The file stays open, and so checked, until it is sent; a link is never served.
    opened = contextlib.ExitStack()
    try:
        path = await run_in_threadpool(opened.enter_context, bucket.local_copy(key))
    except ObjectNotFound as missing:
        raise HTTPException(404, str(missing)) from None
    return FileResponse(
        path,
        media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        headers={"Content-Disposition": content_disposition(name)},
        background=BackgroundTask(opened.close),
    )
