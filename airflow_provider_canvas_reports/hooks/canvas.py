"""CanvasHook: Canvas LMS's Course Reports API, for tasks (sync) and triggers (async)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_canvas_reports import api, redact
from airflow_provider_canvas_reports.exceptions import (
    CanvasConnectionConfigError,
    CanvasError,
    CanvasInvalidInputError,
    CanvasNoReportError,
)
from airflow_provider_canvas_reports.settings import CanvasSettings, build_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from airflow_provider_canvas_reports.download import DownloadResult
    from airflow_provider_canvas_reports.transports import AsyncTransport, SyncTransport


#: A "no report" 500 is checked once more before it is believed (the second check is the last).
_NO_REPORT_CHECKS = (1, 2)
#: How many times a start is sent in one call when Canvas may not have received it.
START_ATTEMPTS = 3
#: How far Canvas's clock may be behind ours when telling whether a report is this start's.
START_CLOCK_SKEW = timedelta(minutes=5)


class CanvasHook(BaseHook):
    """
    Talk to Canvas LMS's Course Reports API.

    The connection's host is the Canvas URL (``https://school.instructure.com``) and its password
    the access token. Transient failures (connection errors, timeouts, 5xx, throttling) are
    retried with exponential backoff and jitter; auth, not-found and bad-request errors are not.
    Every id is validated before a request is built. Tasks use the sync methods; triggers use the
    ``a``-prefixed ones, which never block the event loop and share one pooled HTTP client per loop.

    :param canvas_conn_id: the ``canvas`` connection to use.
    :param timeout: seconds to wait for each read of an answer (connection extra ``timeout``).
    :param retry_limit: attempts in all per call, the first included (extra ``retry_limit``).
    :param retry_max_seconds: no retry starts after this many seconds (extra ``retry_max_seconds``).
    :param retry_backoff_seconds: the first wait between attempts (extra ``retry_backoff_seconds``).
    :param settings_overrides: any other setting of :class:`~.settings.CanvasSettings` by name.
    """

    conn_name_attr = "canvas_conn_id"
    default_conn_name = "canvas_default"
    conn_type = "canvas"
    hook_name = "Canvas LMS"

    def __init__(
        self,
        canvas_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        retry_limit: int | None = None,
        retry_max_seconds: float | None = None,
        retry_backoff_seconds: float | None = None,
        settings_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.canvas_conn_id = canvas_conn_id
        self._overrides: dict[str, Any] = {
            "timeout": timeout,
            "retry_limit": retry_limit,
            "retry_max_seconds": retry_max_seconds,
            "retry_backoff_seconds": retry_backoff_seconds,
            **(settings_overrides or {}),
        }
        self._async_settings: CanvasSettings | None = None

    # --- connection ------------------------------------------------------------------------------

    @cached_property
    def settings(self) -> CanvasSettings:
        """The settings from the connection (looked up once, synchronously)."""
        conn = self.get_connection(self.canvas_conn_id)
        return self._build_settings(conn.host, conn.password, conn.extra_dejson)

    async def asettings(self) -> CanvasSettings:
        """The settings from the connection, looked up without blocking the event loop."""
        if self._async_settings is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            conn = await get_async_connection(self.canvas_conn_id, hook=type(self))
            extras = await get_async_extra_dejson(conn)
            self._async_settings = self._build_settings(conn.host, conn.password, extras)
        return self._async_settings

    def _build_settings(
        self, host: str | None, token: str | None, extras: Mapping[str, Any]
    ) -> CanvasSettings:
        try:
            settings = build_settings(host, token, extras, self._overrides)
        except ValueError as exc:
            raise CanvasConnectionConfigError(f"Connection {self.canvas_conn_id!r}: {exc}") from None
        redact.remember(settings.token)
        return settings

    @cached_property
    def transport(self) -> SyncTransport:
        from airflow_provider_canvas_reports.transports import SyncTransport

        return SyncTransport(self.settings, self.log)

    def get_conn(self) -> requests.Session:
        """The ``requests.Session`` used for Canvas calls (authorised, pooled)."""
        return self.transport.session

    def close(self) -> None:
        """Close the pooled sync connections."""
        if "transport" in self.__dict__:
            self.transport.close()
            del self.__dict__["transport"]

    @asynccontextmanager
    async def async_transport(self) -> AsyncIterator[AsyncTransport]:
        """
        Lease the event loop's shared HTTP client for a series of async calls.

        Hold it for as long as you poll (a trigger holds it for its whole run); the client closes
        when its last lease ends, including on cancellation.
        """
        from airflow_provider_canvas_reports.transports import AsyncTransport, async_clients

        settings = await self.asettings()
        async with async_clients.lease(settings) as pooled:
            yield AsyncTransport(pooled, settings, self.log)

    def run(self, request: api.CanvasRequest) -> Any:
        """Send a described Canvas request (with retries) and return what it reads."""
        self.log.debug("Canvas %s", request.label)
        return self.transport.call(request)

    async def arun(self, request: api.CanvasRequest) -> Any:
        """Async :meth:`run`, over the event loop's shared client."""
        self.log.debug("Canvas %s", request.label)
        async with self.async_transport() as transport:
            return await transport.call(request)

    # --- course reports --------------------------------------------------------------------------

    def start_course_report(
        self, course_id: int | str, report_type: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        Start a course report; Canvas makes a new one on every call.

        :param course_id: a Canvas course id, or ``sis_course_id:X`` and the other alternate forms.
        :param report_type: the report type, e.g. ``course_pace_docx``.
        :param parameters: report parameters, e.g. ``{"section_ids": [1, 2]}``.
        :return: the new report object.
        """
        return self.run(api.start_course_report(course_id, report_type, parameters))

    def start_course_report_once(
        self, course_id: int | str, report_type: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        Start a course report, making at most one even when an answer is lost.

        After a 5xx, a reset or a read timeout the POST may or may not have reached Canvas. Before
        it is sent again, the token's last report of this type is read: one created since this call
        began (allowing :data:`START_CLOCK_SKEW` for Canvas's clock) for exactly these
        ``section_ids`` and ``enrollment_ids`` is the one the lost answer carried, and is returned.
        Otherwise the start is sent again, at most :data:`START_ATTEMPTS` times in all, with the
        hook's backoff. Errors that surely did nothing (throttling, a refused connection) are
        retried by :meth:`run` as for any call.

        :param course_id: a Canvas course id, or an alternate form such as ``sis_course_id:X``.
        :param report_type: the report type, e.g. ``course_pace_docx``.
        :param parameters: report parameters, e.g. ``{"section_ids": [1, 2]}``.
        :return: the report object (new, or the one the lost answer made).
        :raises CanvasInvalidInputError: before any request, for ids or parameters Canvas cannot take.
        """
        import tenacity

        from airflow_provider_canvas_reports.transports import retry_options

        request = api.start_course_report(course_id, report_type, parameters)
        since = datetime.now(timezone.utc) - START_CLOCK_SKEW
        options = retry_options(self.settings, self.log)
        options["stop"] = tenacity.stop_after_attempt(START_ATTEMPTS)
        options["retry"] = tenacity.retry_if_exception(
            lambda exc: isinstance(exc, CanvasError) and exc.retryable and exc.maybe_processed
        )

        def lost(state: tenacity.RetryCallState) -> None:
            self.log.warning(
                "Starting the %s report for course %s may or may not have reached Canvas (%s); "
                "looking for the report it may have made in %.1f s (attempt %d of %d)",
                report_type,
                course_id,
                state.outcome.exception() if state.outcome else None,
                state.upcoming_sleep,
                state.attempt_number + 1,
                START_ATTEMPTS,
            )

        options["before_sleep"] = lost
        for attempt in tenacity.Retrying(**options):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    made = self._course_report_made_since(course_id, report_type, parameters, since)
                    if made is not None:
                        self.log.info(
                            "Canvas made report %s before the answer was lost; using it", made["id"]
                        )
                        return made
                    self.log.info("Canvas made no report; starting it again")
                return self.run(request)
        raise AssertionError("unreachable")  # pragma: no cover

    def _course_report_made_since(
        self, course_id: int | str, report_type: str, parameters: Mapping[str, Any] | None, since: datetime
    ) -> dict[str, Any] | None:
        last = self.get_last_course_report(course_id, report_type)
        if last is None or not api.same_selection(last, parameters):
            return None
        created = _parse_time(last.get("created_at"))
        return last if created is not None and created >= since else None

    def get_course_report(
        self, course_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """Return the report ``report_id`` (its status, and once complete its file)."""
        return self.run(api.get_course_report(course_id, report_type, report_id))

    def get_last_course_report(self, course_id: int | str, report_type: str) -> dict[str, Any] | None:
        """
        Return this token's most recent report of this type for the course, or ``None``.

        With no report, older Canvas answers ``{}`` and current Canvas its generic HTTP 500; the
        500 is checked once more (it could be a passing fault) and then read as ``None``.
        """
        request = api.get_last_course_report(course_id, report_type)
        for check in _NO_REPORT_CHECKS:
            try:
                return self.run(request)
            except CanvasNoReportError:
                self._log_no_report(course_id, report_type, check)
        return None

    async def astart_course_report(
        self, course_id: int | str, report_type: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Async :meth:`start_course_report`."""
        return await self.arun(api.start_course_report(course_id, report_type, parameters))

    async def aget_course_report(
        self, course_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """Async :meth:`get_course_report`."""
        return await self.arun(api.get_course_report(course_id, report_type, report_id))

    async def aget_last_course_report(self, course_id: int | str, report_type: str) -> dict[str, Any] | None:
        """Async :meth:`get_last_course_report`."""
        request = api.get_last_course_report(course_id, report_type)
        for check in _NO_REPORT_CHECKS:
            try:
                return await self.arun(request)
            except CanvasNoReportError:
                self._log_no_report(course_id, report_type, check)
        return None

    def _log_no_report(self, course_id: object, report_type: str, check: int) -> None:
        if check < len(_NO_REPORT_CHECKS):
            self.log.info(
                "Canvas answered its generic HTTP 500 for the last %s report of course %s, which is how "
                "it says there is none; checking once more",
                report_type,
                course_id,
            )
        else:
            self.log.info("Canvas course %s has no %s report from this token", course_id, report_type)

    def download_report_file(
        self,
        report: Mapping[str, Any],
        fileobj: BinaryIO,
        on_progress: Callable[[int], None] | None = None,
    ) -> DownloadResult:
        """
        Stream a complete report's file into ``fileobj`` and return its size and sha256.

        Follows Canvas's redirect to object storage without sending ``Authorization`` there,
        checks the byte count against ``attachment.size``, and retries a cut or failed transfer
        (by range when the storage allows, else from the start, so ``fileobj`` must be seekable).

        :param report: the report object from :meth:`get_course_report`, with ``file_url``.
        :param fileobj: a writable, seekable binary file.
        :param on_progress: called with the bytes written so far after each chunk.
        """
        from airflow_provider_canvas_reports.download import ReportFileDownloader

        file_url = report.get("file_url")
        if not file_url:
            raise CanvasInvalidInputError(
                f"Canvas report {report.get('id')} has no file_url (status {report.get('status')})"
            )
        attachment = report.get("attachment") or {}
        size = attachment.get("size") if isinstance(attachment, Mapping) else None
        downloader = ReportFileDownloader(self.get_conn(), self.settings, self.log)
        return downloader.download(
            file_url, fileobj, size if isinstance(size, int) else None, on_progress, self._refresher(report)
        )

    def _refresher(self, report: Mapping[str, Any]) -> Callable[[], str] | None:
        """How to read ``report`` again for a fresh ``file_url`` (``None`` if it cannot say where from)."""
        course_id, report_type, report_id = (report.get(k) for k in ("course_id", "report_type", "id"))
        if course_id is None or not report_type or report_id is None:
            return None

        def refresh() -> str:
            fresh = self.get_course_report(course_id, str(report_type), report_id)
            if not fresh.get("file_url"):
                raise CanvasInvalidInputError(
                    f"Canvas report {report_id} has no file_url any more (status {fresh.get('status')})"
                )
            return str(fresh["file_url"])

        return refresh

    # --- the Airflow UI ---------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call (``GET /api/v1/users/self``) for the UI's Test button."""
        try:
            user = self.run(api.get_self())
        except Exception as exc:
            return False, str(exc)
        return True, f"Connected to {self.settings.base_url} as {user.get('name') or user.get('id')}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form for Airflow 2.11 (Airflow 3 reads ``ui-field-behaviour`` instead)."""
        from airflow_provider_canvas_reports.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra form fields for Airflow 2.11 (Airflow 3 reads ``conn-fields`` instead)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, StringField

        from airflow_provider_canvas_reports.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            if "boolean" in spec["schema"]["type"]:
                widgets[name] = BooleanField(lazy_gettext(spec["label"]), description=spec["description"])
            else:
                widgets[name] = StringField(
                    lazy_gettext(spec["label"]), widget=BS3TextFieldWidget(), description=spec["description"]
                )
        return widgets


def _parse_time(value: object) -> datetime | None:
    """Canvas's ISO 8601 timestamps (``2013-12-02T00:03:21-06:00``, or ``Z``)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
