"""What went wrong in a run, in words: Dagster wraps the real error ("Exceeded max_retries of 3",
"Error occurred while executing op"), and the innermost cause is what someone can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo


def root_cause(error: SerializableErrorInfo | None) -> SerializableErrorInfo | None:
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def readable_error(error: SerializableErrorInfo | None) -> str:
    """The innermost error as `Class: message`, without the module path Dagster puts in front
    (`dagster._core.definitions.events.Failure: ...`)."""
    cause = root_cause(error)
    if cause is None:
        return ""
    text = (cause.message or "").strip()
    head, separator, rest = text.partition(": ")
    if separator and cause.cls_name and head.endswith("." + cause.cls_name):
        text = f"{cause.cls_name}: {rest}"
    return text


def error_line(error: SerializableErrorInfo | None) -> str:
    """The innermost error's last line, as `process` prints it."""
    cause = root_cause(error)
    text = cause.message.strip() if cause is not None else ""
    return text.splitlines()[-1] if text else ""
