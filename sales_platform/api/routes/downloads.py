"""`POST /generate-download-url`: a short-lived link to one of the files the dashboard lists
(processed Parquet, refused files and their reports, daily reports, BI exports)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from sales_platform.api.context import ApiContext, get_context
from sales_platform.api.schemas import DownloadUrlRequest, DownloadUrlResponse, Message
from sales_platform.domain.bucket_files import (
    check_download_name,
    check_key,
    content_disposition,
    download_name,
    plain_download_name,
    under_any,
)

router = APIRouter(tags=["files"])


@router.post(
    "/generate-download-url",
    response_model=DownloadUrlResponse,
    responses={
        400: {"model": Message, "description": "Not a valid key, not a downloadable prefix, or a bad file name."},
        404: {"model": Message, "description": "No file at that key."},
    },
    summary="A URL to download one file",
)
async def generate_download_url(
    body: DownloadUrlRequest, request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> DownloadUrlResponse:
    try:
        key = check_key(body.key)
        filename = check_download_name(body.filename) if body.filename is not None else None
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    prefixes = context.download_prefixes
    if not under_any(key, prefixes):
        raise HTTPException(400, f"only files under {', '.join(prefixes)} can be downloaded")
    info = await run_in_threadpool(context.bucket.head, key)
    if info is None:
        raise HTTPException(404, f"no file at {key}")
    if info.is_link:
        raise HTTPException(404, f"{key} is a symbolic link, which is never served")
    filename = filename or plain_download_name(download_name(key, context.settings.storage.processed_prefix))
    expires_in = context.settings.api.download_url_expiry_seconds
    if context.signer is None:
        url = context.bucket.presigned_url("GET", key, expires_in, content_disposition(filename))
    else:
        url = context.signer.url(context.public_base_url(request), "GET", key, expires_in, filename)
    return DownloadUrlResponse(downloadUrl=url, key=key, expiresIn=expires_in, filename=filename)
