"""What a store id, a business day and a bucket key may look like: one rule each, checked the
same way by the settings, the command line, the API and both object stores.

Each rule is as strict as the contracts allow: ASCII digits only (`str.isdigit` would let `²` or
Arabic-Indic digits through), a whole-string match (`$` alone also matches before a trailing
newline), and keys that name the same file on a laptop's folder and on S3.
"""

from __future__ import annotations

import datetime as dt
import re

# The chain's eleven stores: who EXPECTED_STORES names by default, and the sample data's chain.
DEFAULT_STORES: tuple[str, ...] = tuple(f"{n:04d}" for n in range(1, 12))
STORE_ID_PATTERN = "[0-9]{4}"  # also inside the upload file name rule
DAY_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_STORE_ID = re.compile(STORE_ID_PATTERN)
_DAY = re.compile(DAY_PATTERN)
MAX_KEY_LENGTH = 1024  # S3's own limit
KEY_RULE = (
    "a key is the file's path in the bucket, such as processed/year=2025/month=11/day=27/store_id=0001/data.parquet, "
    "with no empty, '.' or '..' parts, no leading '/', no backslashes or NUL characters, "
    f"at most {MAX_KEY_LENGTH} characters"
)


def is_store_id(text: str) -> bool:
    return _STORE_ID.fullmatch(text) is not None


def parse_day(text: str) -> dt.date:
    """A `YYYY-MM-DD` day, or ValueError saying what is wrong with it. `date.fromisoformat`
    alone also takes `20251127` and `2025-W48-4`."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a date in YYYY-MM-DD form")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None


def is_object_key(key: str) -> bool:
    """A key both object stores can hold. A folder store cannot hold `a//b`, `../x` or `a\\b`,
    and S3 would take them: refusing them everywhere keeps a key that works on a laptop working
    on AWS. Other control characters are allowed: a refused upload keeps the name it came with,
    tabs and line breaks included, so that its store can still download it and its report."""
    return not (
        not key
        or len(key) > MAX_KEY_LENGTH
        or key.startswith("/")
        or "\\" in key
        or "\0" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    )
