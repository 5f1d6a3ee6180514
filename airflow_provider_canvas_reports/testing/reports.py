"""Course reports: their wall-clock lifecycle, their JSON and their attachments.

Nothing runs in the background: a report's status is computed from the clock whenever it is read.
Reports of one course run one after another (as on Canvas's per-course job strand), so a report's
``running`` phase starts when the previous report of its course has ended.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from airflow_provider_canvas_reports.testing.files import (
    PaceDocument,
    ReportFile,
    build_course_pace_file,
    pace_documents,
)
from airflow_provider_canvas_reports.testing.pace_plans import CoursePlan, default_plan

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_canvas_reports.testing.models import ReportBehaviour

#: Canvas renders timestamps in the account's zone; the emulator's account lives at UTC-6.
ACCOUNT_ZONE = timezone(timedelta(hours=-6))
REPORT_TYPES = ("course_pace_docx",)
PARAMETER_KEYS = ("section_ids", "enrollment_ids")


def iso(timestamp: float | None) -> str | None:
    """``2013-12-02T00:03:21-06:00`` for an epoch timestamp, ``None`` for ``None``."""
    return None if timestamp is None else _iso_second(int(timestamp))


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, ACCOUNT_ZONE).isoformat(timespec="seconds")


def random_verifier() -> str:
    """A random URL-safe string shaped like a JWT (header.payload.signature)."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({"jti": secrets.token_hex(8)}).encode()).rstrip(b"=")
    return f"{header}.{payload.decode()}.{secrets.token_urlsafe(32)}"


@dataclass
class Attachment:
    """The stored report file (Canvas's ``Attachment``) and where it can be fetched."""

    id: int
    uuid: str
    folder_id: int
    report_id: int
    course_id: int
    file: ReportFile
    created: float
    verifier: str
    object_key: str
    etag: str = field(default_factory=lambda: secrets.token_hex(16))

    def download_url(self, base_url: str) -> str:
        """The verified download URL (``file_url`` and ``attachment.url``)."""
        return f"{base_url}/files/{self.id}/download?verifier={self.verifier}"

    def to_json(self, base_url: str) -> dict[str, Any]:
        """Canvas's File object."""
        display_name = self.file.display_name
        stamp = iso(self.created)
        return {
            "id": self.id,
            "uuid": self.uuid,
            "folder_id": self.folder_id,
            "display_name": display_name,
            "filename": quote_plus(display_name),
            "upload_status": "success",
            "content-type": self.file.content_type,
            "url": self.download_url(base_url),
            "size": self.file.content.size,
            "created_at": stamp,
            "updated_at": stamp,
            "unlock_at": None,
            "locked": False,
            "hidden": False,
            "lock_at": None,
            "hidden_for_user": False,
            "thumbnail_url": None,
            "modified_at": stamp,
            "mime_class": "doc" if display_name.endswith(".docx") else "zip",
            "media_entry_id": None,
            "category": "uncategorized",
            "locked_for_user": False,
        }


@dataclass
class Report:
    """One course report. Times are epoch seconds; ``start``/``end`` are resolved lazily."""

    id: int
    course_id: int
    report_type: str
    parameters: dict[str, list[Any]]
    user_id: int
    behaviour: ReportBehaviour
    created: float
    previous: Report | None = None
    #: What the report's documents say (captured when the report is created).
    plan: CoursePlan | None = None
    forced_end: float | None = None
    forced_outcome: str | None = None
    attachment: Attachment | None = None
    reads_after_end: int = 0
    #: Status reads answered so far (``GET .../reports/:type/:id``).
    status_reads: int = 0
    _start: float | None = None
    _end: float | None = None
    _resolved: bool = False
    _frozen: bytes | None = None

    @cached_property
    def documents(self) -> list[PaceDocument]:
        """The documents the report produces: one per existing section, then one per enrollment."""
        plan = self.plan if self.plan is not None else default_plan(self.course_id)
        return pace_documents(
            plan,
            _unique_ids(self.parameters.get("section_ids", [])),
            _unique_ids(self.parameters.get("enrollment_ids", [])),
        )

    @property
    def outcome(self) -> str:
        """``complete`` or ``error`` (always ``error`` without sections or enrollments)."""
        if not self.documents:
            return "error"
        return self.forced_outcome or self.behaviour.outcome

    def force_finish(self, outcome: str, now: float) -> None:
        """End the report now (used for held reports)."""
        self.schedule()
        if self._resolved and self._end is not None and self._end <= now:
            return
        self.forced_end, self.forced_outcome = now, outcome
        self._start = now if self._start is None else min(self._start, now)
        self._end, self._resolved = now, True

    def note_status_read(self, now: float) -> None:
        """Count a status read; a held report with ``reads_to_finish`` completes on that read."""
        self.status_reads += 1
        if self.behaviour.finishes_on_read(self.status_reads):
            self.force_finish(self.behaviour.outcome, now)

    def schedule(self) -> tuple[float | None, float | None]:
        """``(start, end)``; ``None`` while unknown (held, or queued behind a held report)."""
        if not self._resolved:
            chain: list[Report] = []
            report: Report | None = self
            while report is not None and not report._resolved:
                chain.append(report)
                report = report.previous
            for item in reversed(chain):
                item._compute()
        return self._start, self._end

    def _compute(self) -> None:
        ready = self.created + self.behaviour.created_seconds
        previous = self.previous
        if previous is not None:
            if not previous._resolved or previous._end is None:
                self._start = None
                return
            ready = max(ready, previous._end)
        self._start = ready
        if self.behaviour.hold:
            return
        self._end, self._resolved = ready + self.behaviour.running_seconds, True

    def status(self, now: float) -> str:
        """``created``, ``running``, ``complete`` or ``error`` at time ``now``."""
        start, end = self.schedule()
        if start is None or now < start:
            return "created"
        if end is None or now < end:
            return "running"
        return self.outcome

    def progress(self, now: float, count_read: bool) -> int:
        """Non-monotonic progress: climbs to ~60, restarts at ~10 for a second phase, climbs to ~95.

        The first read after the end still shows 90, as Canvas sets 100 just after ``complete``.
        """
        start, end = self.schedule()
        if start is None or now < start:
            return 0
        if end is None or now < end:
            duration = self.behaviour.running_seconds
            fraction = min(0.99, (now - start) / duration) if duration > 0 else 0.99
            if fraction < 0.5:
                return int(fraction * 120)
            return 10 + int((fraction - 0.5) * 170)
        if self.outcome == "error":
            return 95
        first = self.reads_after_end == 0
        if count_read:
            self.reads_after_end += 1
        return 90 if first else 100

    def to_json(self, now: float, base_url: str, *, initial: bool = False, count_read: bool = True) -> dict:
        """The Report object in Canvas's key order; ``initial`` renders the POST response.

        ``base_url`` is the origin ``file_url`` points at (the API host or the files domain).
        """
        status = "created" if initial else self.status(now)
        start, end = (None, None) if initial else self.schedule()
        body: dict[str, Any] = {
            "id": self.id,
            "parameters": self.parameters,
            "status": status,
            "report_type": self.report_type,
            "course_id": self.course_id,
            "created_at": iso(self.created),
            "started_at": iso(start) if start is not None and now >= start else None,
            "ended_at": iso(end) if end is not None and now >= end else None,
            "file_url": None,
        }
        if status == "complete" and self.attachment is not None:
            body["file_url"] = self.attachment.download_url(base_url)
            body["attachment"] = self.attachment.to_json(base_url)
        if self.behaviour.progress:
            body["progress"] = 0 if initial else self.progress(now, count_read)
        return body

    def render(self, now: float, base_url: str) -> bytes:
        """The JSON body of a status read (counted as a read); cached once nothing can change any more."""
        if self._frozen is not None:
            return self._frozen
        body = json.dumps(self.to_json(now, base_url), separators=(",", ":")).encode()
        status = self.status(now)
        if status in ("complete", "error") and (
            self.reads_after_end > 1 or status == "error" or not self.behaviour.progress
        ):
            self._frozen = body
        return body

    def materialize(self, now: float, next_id: Callable[[], int]) -> Attachment | None:
        """Create the attachment the first time the report is seen ``complete``."""
        if self.attachment is None and self.status(now) == "complete":
            _, end = self.schedule()
            assert end is not None
            when = datetime.fromtimestamp(end, ACCOUNT_ZONE)
            file = build_course_pace_file(self.documents, self.behaviour.file_size, when)
            self.attachment = Attachment(
                id=next_id(),
                uuid=secrets.token_urlsafe(30)[:40],
                folder_id=10_000 + self.course_id,
                report_id=self.id,
                course_id=self.course_id,
                file=file,
                created=end,
                verifier=random_verifier(),
                object_key=f"{uuid.UUID(bytes=os.urandom(16))}/{secrets.token_hex(8)}",
            )
        return self.attachment


def permit_parameters(raw: dict[str, Any]) -> dict[str, list[Any]]:
    """Canvas's ``params[:parameters].permit(enrollment_ids: [], section_ids: [])``.

    Keeps the two id arrays (their scalar items as sent: strings from a form, numbers from JSON) and
    drops every other key, scalar values and nested items.
    """
    kept: dict[str, list[Any]] = {}
    for key, value in raw.items():
        if key in PARAMETER_KEYS and isinstance(value, list):
            kept[key] = [item for item in value if not isinstance(item, dict | list)]
    return kept


def _unique_ids(values: list[Any]) -> list[str]:
    """Ids that name a row (positive integers, or strings of digits), deduplicated, in request order."""
    seen: dict[str, None] = {}
    for value in values:
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if text.isascii() and text.isdigit() and int(text) > 0:
            seen.setdefault(str(int(text)), None)
    return list(seen)
