"""`POST /generate-upload-url`: where a store (or the dashboard) PUTs a file for the inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from sales_platform.api.context import ApiContext, get_context
from sales_platform.api.schemas import Message, UploadUrlRequest, UploadUrlResponse
from sales_platform.domain.bucket_files import check_upload_file_name

router = APIRouter(tags=["files"])


@router.post(
    "/generate-upload-url",
    response_model=UploadUrlResponse,
    responses={400: {"model": Message, "description": "The file name does not follow the naming rule."}},
    summary="A URL to PUT one store file to",
)
def generate_upload_url(
    body: UploadUrlRequest, request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> UploadUrlResponse:
    """On S3 a presigned PUT for `uploads/<filename>`; with a local bucket a URL to this API,
    signed and expiring the same way. Either way: PUT the bytes, nothing else needed."""
    try:
        name = check_upload_file_name(body.filename)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    key = context.settings.storage.layout.upload_key(name)
    expires_in = context.settings.api.upload_url_expiry_seconds
    if context.signer is None:
        url = context.bucket.presigned_url("PUT", key, expires_in)
    else:
        url = context.signer.url(context.public_base_url(request), "PUT", key, expires_in)
    return UploadUrlResponse(uploadUrl=url, key=key, expiresIn=expires_in)
