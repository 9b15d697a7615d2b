"""The bucket on S3, with the same semantics as the folder store.

S3 makes an object visible only once its upload (single or multipart) has completed, so every
write here is atomic without a staging area. Large files go through s3transfer's managed
upload, download and copy, which stream, split into parts and retry parts on their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from sales_platform.domain.identifiers import is_object_key
from sales_platform.resources.aws_config import client_config
from sales_platform.resources.object_store import ObjectInfo, ObjectNotFound, ObjectStore

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Per socket read, not per request, so a multi-gigabyte download is not cut off by it.
_READ_TIMEOUT_SECONDS = 60


def make_s3_client(region: str, endpoint_url: str | None = None) -> Any:
    """An S3 client with patient retries and explicit timeouts.

    A fresh session per client, because boto3's default session is not thread-safe while the
    clients themselves are. With an endpoint (MinIO, LocalStack) path-style addressing is used,
    since those rarely resolve bucket subdomains.
    """
    # SigV4: S3's own presigned URLs (the API's upload and download links) in every region,
    # with the expiry AWS enforces; the older default signature is refused in newer regions.
    extra: dict[str, object] = {"signature_version": "s3v4"}
    if endpoint_url:
        extra["s3"] = {"addressing_style": "path"}
    session = boto3.session.Session()
    return session.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        config=client_config(_READ_TIMEOUT_SECONDS, **extra),
    )


def _check_key(key: str) -> None:
    if not is_object_key(key):
        raise ValueError(f"not a valid object key: {key!r}")


def _is_not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _NOT_FOUND_CODES


def _info(key: str, size: int, last_modified: dt.datetime, etag: str) -> ObjectInfo:
    # Listings and HEAD report LastModified at different precisions; whole seconds make both
    # give the same version for the same object. VersionId is deliberately left out: listings
    # never carry it, and a listed version must equal the version HEAD reports for it.
    modified = last_modified.astimezone(dt.UTC).replace(microsecond=0)
    etag = etag.strip('"')
    return ObjectInfo(
        key=key,
        size=size,
        last_modified=modified,
        version=f"{etag}@{int(modified.timestamp())}",
    )


class S3ObjectStore(ObjectStore):
    def __init__(self, bucket: str, client: Any, transfer_config: TransferConfig | None = None) -> None:
        self.bucket = bucket
        self.client = client
        self.transfer_config = transfer_config or TransferConfig()
        self.description = f"s3://{bucket}"

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                # Zero-byte "folder" markers made by the console are not objects to the folder
                # store, which never lists directories.
                if entry["Key"].endswith("/"):
                    continue
                yield _info(entry["Key"], entry["Size"], entry["LastModified"], entry["ETag"])

    def head(self, key: str) -> ObjectInfo | None:
        _check_key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
        return self._info_from_head(key, response)

    def presigned_url(
        self, method: str, key: str, expires_in: int, content_disposition: str | None = None
    ) -> str | None:
        # Signed locally from the credentials, no call to S3. Only the host header is signed,
        # so a browser may PUT with whatever Content-Type it likes.
        _check_key(key)
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if method == "PUT":
            operation = "put_object"
        elif method == "GET":
            operation = "get_object"
            if content_disposition:
                params["ResponseContentDisposition"] = content_disposition
        else:
            raise ValueError(f"cannot presign {method}")
        return self.client.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in, HttpMethod=method)

    def _info_from_head(self, key: str, response: Mapping[str, Any]) -> ObjectInfo:
        return _info(key, response["ContentLength"], response["LastModified"], response["ETag"])

    def read_bytes(self, key: str) -> bytes:
        _check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise ObjectNotFound(key) from None
            raise
        with contextlib.closing(response["Body"]) as body:
            return body.read()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        _check_key(key)
        with tempfile.TemporaryDirectory(prefix="sales-platform-") as folder:
            # Keep the object's file name: readers such as DuckDB pick a format by extension.
            path = Path(folder) / key.rsplit("/", 1)[-1]
            try:
                self.client.download_file(self.bucket, key, str(path), Config=self.transfer_config)
            except ClientError as error:
                if _is_not_found(error):
                    raise ObjectNotFound(key) from None
                raise
            yield path

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        _check_key(key)
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        return self._written(key)

    def write_file(self, key: str, path: Path, content_type: str | None = None) -> ObjectInfo:
        _check_key(key)
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=self.transfer_config)
        return self._written(key)

    def _written(self, key: str) -> ObjectInfo:
        # PUT does not return LastModified, which the version needs, so ask for it.
        info = self.head(key)
        if info is None:  # deleted by someone else in between
            raise ObjectNotFound(key)
        return info

    def copy(self, source: str, destination: str) -> None:
        _check_key(source)
        _check_key(destination)
        try:
            # The managed copy switches to multipart UploadPartCopy above the threshold;
            # a single CopyObject call stops at 5 GB.
            self.client.copy(
                {"Bucket": self.bucket, "Key": source}, self.bucket, destination, Config=self.transfer_config
            )
        except ClientError as error:
            if _is_not_found(error):
                raise ObjectNotFound(source) from None
            raise

    def delete(self, key: str) -> None:
        _check_key(key)
        # S3 answers 204 for a key that does not exist, which is the contract already.
        self.client.delete_object(Bucket=self.bucket, Key=key)
