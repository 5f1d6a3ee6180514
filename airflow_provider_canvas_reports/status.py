"""What a Canvas report's status means, and the part of a report that may be shown anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any


class ReportStatus(str, Enum):
    """
    The states a Canvas report declares: ``created`` (queued) → ``running`` (→ ``compiling``) →
    ``complete`` or ``error``; an account report can also be ``aborted``, and any report
    ``deleted``.
    """

    CREATED = "created"
    RUNNING = "running"
    COMPILING = "compiling"
    COMPLETE = "complete"
    ERROR = "error"
    ABORTED = "aborted"
    DELETED = "deleted"

    @classmethod
    def is_success(cls, status: object) -> bool:
        return status == cls.COMPLETE.value

    @classmethod
    def is_failure(cls, status: object) -> bool:
        return status in FAILED_STATES

    @classmethod
    def is_terminal(cls, status: object) -> bool:
        """Whether ``status`` is final. Anything unknown counts as still going."""
        return cls.is_success(status) or cls.is_failure(status)


FAILED_STATES = frozenset({ReportStatus.ERROR.value, ReportStatus.ABORTED.value, ReportStatus.DELETED.value})
ACTIVE_STATES = frozenset(
    {ReportStatus.CREATED.value, ReportStatus.RUNNING.value, ReportStatus.COMPILING.value}
)

#: Report keys a downstream task may see; ``file_url`` and the attachment's ``url`` are left out.
_SUMMARY_KEYS = (
    "id",
    "status",
    "report_type",
    "report",
    "course_id",
    "account_id",
    "parameters",
    "current_line",
    "created_at",
    "started_at",
    "ended_at",
)


def report_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report metadata that is safe for logs, XCom and trigger events (no ``file_url``)."""
    summary = {key: report.get(key) for key in _SUMMARY_KEYS if key in report}
    attachment = report.get("attachment")
    if isinstance(attachment, Mapping):
        summary["attachment"] = {
            "id": attachment.get("id"),
            "filename": attachment.get("filename"),
            "display_name": attachment.get("display_name"),
            "content_type": attachment.get("content-type"),
            "size": attachment.get("size"),
        }
    return summary
