"""The `.error.json` that sits beside a refused upload: what a store manager reads to fix it."""

from __future__ import annotations

import datetime as dt
import json

from sales_platform.domain.upload_contract import NAME_RULE, Refusal, UploadName
from sales_platform.domain.utc_time import utc_timestamp


def refusal_document(
    *,
    file_name: str,
    original_key: str,
    original_version: str,
    original_modified: dt.datetime,
    rejected_key: str,
    refused_at: dt.datetime,
    refusal: Refusal,
    upload: UploadName | None,
) -> dict[str, object]:
    document: dict[str, object] = {
        "file": file_name,
        "status": "rejected",
        "original_key": original_key,
        "original_version": original_version,
        "original_modified_at": utc_timestamp(original_modified, precise=True),
        "rejected_key": rejected_key,
        "rejected_at": utc_timestamp(refused_at, precise=True),
        "summary": refusal.summary,
        "problem_count": refusal.problem_count,
        "problems": [problem.as_dict() for problem in refusal.problems],
        "problems_not_listed": max(0, refusal.problem_count - len(refusal.problems)),
        "naming_rule": NAME_RULE,
    }
    if upload is not None:
        document["store_id"] = upload.store_id
        document["business_date"] = upload.business_date.isoformat()
    return document


def render_refusal(document: dict[str, object]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
