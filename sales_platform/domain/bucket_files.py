"""What the dashboard is told about the bucket's files, and which keys and names it may ask for.

Pure functions over keys and report documents: the API lists the bucket once per prefix and
derives everything else (status, partitions, refusal summary, friendly download names) here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from sales_platform.domain.identifiers import KEY_RULE, is_object_key
from sales_platform.domain.upload_contract import NAME_RULE, UploadNameError, parse_upload_name

REPORT_SUFFIX = ".error.json"
MAX_DOWNLOAD_NAME_LENGTH = 200

DOWNLOAD_NAME_RULE = (
    f"a download file name has at most {MAX_DOWNLOAD_NAME_LENGTH} characters and no slashes, backslashes, "
    "quotes or control characters"
)
_PROCESSED = re.compile(
    r"^year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/store_id=(?P<store_id>[^/]+)/data\.parquet$"
)


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text)


def check_key(key: str) -> str:
    """The key itself, or ValueError with the rule (`identifiers.is_object_key`). Upload names
    are held to a stricter rule (`check_upload_file_name`)."""
    if not is_object_key(key):
        raise ValueError(f"not a valid key: {KEY_RULE}")
    return key


def plain_download_name(name: str) -> str:
    """A name a browser can save a file as: control characters become underscores."""
    return "".join("_" if _has_control_characters(char) else char for char in name)


def check_download_name(name: str) -> str:
    if (
        not name.strip()
        or len(name) > MAX_DOWNLOAD_NAME_LENGTH
        or any(char in name for char in '/\\"')
        or _has_control_characters(name)
        or name in (".", "..")
    ):
        raise ValueError(f"not a valid filename: {DOWNLOAD_NAME_RULE}")
    return name


def content_disposition(name: str) -> str:
    """An attachment header every browser reads: a plain-ASCII `filename` for old ones and the
    exact name as RFC 5987 `filename*`."""
    fallback = "".join(char if 32 <= ord(char) < 127 and char not in '"\\%' else "_" for char in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def processed_partitions(key: str, processed_prefix: str) -> dict[str, str] | None:
    """The Hive partitions a processed file's key names, with the business `date`."""
    match = _PROCESSED.match(key.removeprefix(processed_prefix)) if key.startswith(processed_prefix) else None
    if not match:
        return None
    parts = match.groupdict()
    parts["date"] = f"{parts['year']}-{parts['month']}-{parts['day']}"
    return parts


def download_name(key: str, processed_prefix: str) -> str:
    """What a downloaded file is called: every processed file's key ends in `data.parquet`, so
    those are named after their store and day."""
    partitions = processed_partitions(key, processed_prefix)
    if partitions:
        return f"store_{partitions['store_id']}_{partitions['date']}.parquet"
    return key.rsplit("/", 1)[-1]


def pair_rejected(keys: Iterable[str]) -> list[tuple[str, str | None]]:
    """(refused file, its report or None) from one listing of rejected/.

    A key is a report when it is `<another listed key>.error.json`; a file that was itself
    named `x.error.json` is still a file, since its own report is `x.error.json.error.json`.
    """
    keys = list(keys)
    present = set(keys)
    reports = {key for key in keys if key.endswith(REPORT_SUFFIX) and key[: -len(REPORT_SUFFIX)] in present}
    return [
        (key, key + REPORT_SUFFIX if key + REPORT_SUFFIX in reports else None) for key in keys if key not in reports
    ]


def refusal_summary(document: Mapping[str, Any], report_key: str) -> dict[str, Any]:
    """What the file listing shows of a refusal report (`.error.json`)."""
    return {
        "error": document.get("summary") or "refused",
        "error_report_key": report_key,
        "problem_count": document.get("problem_count"),
        "refusal_status": document.get("status", "rejected"),
        "rejected_at": document.get("rejected_at"),
        "superseded_by": document.get("superseded_by"),
    }


def under_any(key: str, prefixes: Sequence[str]) -> bool:
    return any(key.startswith(prefix) and len(key) > len(prefix) for prefix in prefixes)


def check_upload_file_name(name: str) -> str:
    """A store file name an upload URL may be issued for, or ValueError naming the rule.

    Only names that follow the naming rule pass, so nothing but a plain file in the inbox can
    be reached: no folders, no `..`, no control characters.
    """
    if "/" in name or "\\" in name or ".." in name or not name.isascii() or _has_control_characters(name):
        raise ValueError(
            f"filename {name!r} is not a plain file name (ASCII only; no slashes, '..' or control characters); "
            f"it must match {NAME_RULE}"
        )
    try:
        parse_upload_name(name)
    except UploadNameError as error:
        message = str(error)
        raise ValueError(message if NAME_RULE in message else f"{message}; names follow {NAME_RULE}") from None
    return name
