"""Account reports: their wall-clock lifecycle, abort and delete, their JSON and their CSV files.

As on Canvas, the reports of one root account run one after another (one job strand), so a report
stays ``created`` until the account's previous report has ended (completed, failed, been aborted
or deleted). Only a ``running`` report can be aborted; any report can be deleted (a soft delete:
its status becomes ``deleted``). A failed report has progress 100 and says why in
``parameters.extra_text``; ``current_line`` counts the rows written, in steps of 1,000.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.testing.csv_files import PARTS, build_account_report_file
from airflow_provider_canvas_reports.testing.reports import ACCOUNT_ZONE, Attachment, iso, random_verifier

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_canvas_reports.testing.models import ReportBehaviour

_PART_FLAGS = {
    part: {"required": False, "description": f"Get the Provisioning file for {part}"} for part in PARTS
}
_TERM = {
    "enrollment_term_id": {"required": False, "description": "The canvas id of the term to get grades from"}
}
_DELETED = {"include_deleted": {"required": False, "description": "Include deleted objects"}}
#: The types an account offers unless told otherwise: ``{type: (title, parameters)}``.
ACCOUNT_REPORT_TYPES: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "provisioning_csv": ("Provisioning", {**_PART_FLAGS, **_TERM, **_DELETED}),
    "sis_export_csv": ("SIS Export", {**_PART_FLAGS, **_TERM, **_DELETED}),
    "grade_export_csv": ("Grade Export", {**_TERM, **_DELETED}),
    "last_user_access_csv": (
        "Last User Access",
        {**_TERM, "course_id": {"required": False, "description": "The course to report on"}, **_DELETED},
    ),
}
#: Report types whose file has one CSV per part asked for (and that fail with none).
PART_REPORTS = frozenset({"provisioning_csv", "sis_export_csv"})
ACTIVE = ("created", "running")
FAILED_TEXT = "Failed, the report failed to generate a file. Please try again."


def value_to_boolean(value: Any) -> bool:
    """Canvas's ``value_to_boolean``: ``true``, ``1``, ``yes``, ``on`` (any case) and ``True`` are true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "t", "y")


@dataclass
class AccountReport:
    """One account report. Times are epoch seconds."""

    id: int
    account_id: int
    report_type: str
    parameters: dict[str, Any]
    user_id: int
    behaviour: ReportBehaviour
    created: float
    #: The root account's report before this one (``None``: first, or not sequential).
    previous: AccountReport | None = None
    forced_end: float | None = None
    forced_outcome: str | None = None
    #: When and how it was stopped: ``("aborted" | "deleted", when)``.
    stopped: tuple[str, float] | None = None
    attachment: Attachment | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Status reads (``GET`` of this report) so far.
    status_reads: int = 0

    @property
    def parts(self) -> list[str]:
        """The CSVs the report writes: the true flags of a provisioning export, else the report itself."""
        if self.report_type in PART_REPORTS:
            return [part for part in PARTS if value_to_boolean(self.parameters.get(part))]
        return [self.report_type]

    @property
    def outcome(self) -> str:
        if not self.parts:
            return "error"
        return self.forced_outcome or self.behaviour.outcome

    def window(self) -> tuple[float | None, float | None]:
        """``(start, end)`` of its run; ``None`` while unknown (queued behind a held report, or held)."""
        chain: list[AccountReport] = []
        report: AccountReport | None = self
        while report is not None:
            chain.append(report)
            report = report.previous
        end_before: float | None = 0.0
        start: float | None = None
        end: float | None = None
        for item in reversed(chain):
            start, end = item.own_window(end_before)
            end_before = end
        return start, end

    def own_window(self, previous_end: float | None) -> tuple[float | None, float | None]:
        """This report's run, given when the report before it ended (``None``: not yet known)."""
        if self.stopped is not None and self.stopped[0] == "deleted":
            # Deleted: it never runs past its deletion, and frees the queue then.
            when = self.stopped[1]
            start = None if previous_end is None else self.created + self.behaviour.created_seconds
            start = None if start is None or start > when else max(start, previous_end or 0.0)
            return start, when
        if previous_end is None:
            return None, None
        start = max(self.created + self.behaviour.created_seconds, previous_end)
        if self.stopped is not None:
            return start, self.stopped[1]
        if self.forced_end is not None:
            return min(start, self.forced_end), self.forced_end
        if self.behaviour.hold:
            return start, None
        return start, start + self.behaviour.running_seconds

    def status(self, now: float) -> str:
        if self.stopped is not None and now >= self.stopped[1]:
            return self.stopped[0]
        start, end = self.window()
        if start is None or now < start:
            return "created"
        if end is None or now < end:
            return "running"
        return self.outcome

    def rows(self) -> int:
        """Rows the report writes (its CSVs together)."""
        return self.behaviour.rows * len(self.parts)

    def current_line(self, now: float) -> int | None:
        status = self.status(now)
        if status == "created":
            return None
        if status != "running":
            return self.rows() if status == "complete" else None
        start, _ = self.window()
        duration = self.behaviour.running_seconds
        fraction = min(0.99, (now - (start or now)) / duration) if duration > 0 else 0.99
        return int(fraction * self.rows()) // 1000 * 1000

    def abort(self, now: float) -> bool:
        """Abort it if running (what ``PUT .../abort`` may do); False if it is not running."""
        if self.status(now) != "running":
            return False
        self.stopped = ("aborted", now)
        return True

    def delete(self, now: float) -> None:
        """Soft-delete it (``DELETE``): ``deleted`` from now on."""
        if self.stopped is None or self.stopped[0] != "deleted":
            self.stopped = ("deleted", now)

    def note_status_read(self, now: float) -> None:
        """Count a status read; a held report with ``reads_to_finish`` completes on that read."""
        self.status_reads += 1
        if self.behaviour.finishes_on_read(self.status_reads):
            self.force_finish(self.behaviour.outcome, now)

    def force_finish(self, outcome: str, now: float) -> None:
        """End a held report now."""
        _, end = self.window()
        if end is not None and end <= now:
            return
        self.forced_end, self.forced_outcome = now, outcome

    def to_json(self, now: float, base_url: str, *, initial: bool = False, count_read: bool = True) -> dict:
        """Canvas's account report JSON (``lib/api/v1/account_report.rb``)."""
        status = "created" if initial else self.status(now)
        start, end = (None, None) if initial else self.window()
        parameters = dict(self.parameters)
        if status == "complete":
            parameters["extra_text"] = f"Term: All Terms; Reports: {', '.join(self.parts)}"
        elif status == "error":
            parameters["extra_text"] = FAILED_TEXT
        body: dict[str, Any] = {
            "id": self.id,
            "report": self.report_type,
            "file_url": None,
            "status": status,
            "created_at": iso(self.created),
            "started_at": iso(start) if start is not None and now >= start else None,
            "ended_at": iso(end)
            if end is not None and now >= end and status not in ("created", "running")
            else None,
            "parameters": parameters,
            "progress": 100 if status in ("complete", "error") else (0 if status == "created" else 50),
            "current_line": None if initial else self.current_line(now),
        }
        if status == "complete" and self.attachment is not None:
            body["file_url"] = self.attachment.download_url(base_url)
            body["attachment"] = self.attachment.to_json(base_url)
        return body

    def render(self, now: float, base_url: str) -> bytes:
        import json

        return json.dumps(self.to_json(now, base_url), separators=(",", ":")).encode()

    def materialize(self, now: float, next_id: Callable[[], int]) -> Attachment | None:
        """Create the attachment the first time the report is seen ``complete``."""
        if self.attachment is None and self.status(now) == "complete":
            _, end = self.window()
            assert end is not None
            when = datetime.fromtimestamp(end, ACCOUNT_ZONE)
            seed = self.behaviour.seed
            file = build_account_report_file(
                self.report_type, self.parts, self.behaviour.rows, seed, self.account_id, when
            )
            self.attachment = Attachment(
                id=next_id(),
                uuid=secrets.token_urlsafe(30)[:40],
                folder_id=20_000 + self.account_id,
                report_id=self.id,
                course_id=0,
                file=file,
                created=end,
                verifier=random_verifier(),
                object_key=f"{uuid.UUID(bytes=os.urandom(16))}/{secrets.token_hex(8)}",
            )
        return self.attachment
