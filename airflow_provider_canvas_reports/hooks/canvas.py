"""CanvasHook: the one door to Canvas LMS's report APIs, for tasks (sync) and triggers (async)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_canvas_reports import redact
from airflow_provider_canvas_reports.client import calls, paging
from airflow_provider_canvas_reports.client.ids import validate_account_id, validate_course_id
from airflow_provider_canvas_reports.client.settings import CanvasSettings, build_settings
from airflow_provider_canvas_reports.exceptions import (
    CanvasConnectionConfigError,
    CanvasError,
    CanvasInvalidInputError,
    CanvasNoReportError,
    CanvasNotFoundError,
)
from airflow_provider_canvas_reports.status import ACTIVE_STATES, ReportStatus
from airflow_provider_canvas_reports.targets import AccountReport, CourseReport, ReportTarget

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from airflow_provider_canvas_reports._typing import Log
    from airflow_provider_canvas_reports.client.download import DownloadResult
    from airflow_provider_canvas_reports.client.transport import AsyncTransport, LeasedCall, SyncTransport


#: A "no report" 500 is checked once more before it is believed (the second check is the last).
_NO_REPORT_CHECKS = (1, 2)
#: How many times a start is sent in one call when Canvas may not have received it.
START_ATTEMPTS = 3
#: How far Canvas's clock may be behind ours when telling whether a report is this start's.
START_CLOCK_SKEW = timedelta(minutes=5)
#: Courses whose sections are listed at once by default (each request in flight costs Canvas's
#: throttle 50 of its 600 until answered).
SECTION_LISTS_AT_ONCE = 4


class CanvasHook(BaseHook):
    """
    Talk to Canvas LMS: course reports, account reports, and their files.

    The connection's host is the Canvas URL (``https://school.instructure.com``) and its password
    a personal access token, or (password empty) its extras ``client_id``, ``client_secret`` and
    ``refresh_token`` hold an OAuth2 developer key: access tokens are then made from it, one per
    process kept until shortly before it expires, and a call Canvas answers 401 asking for a new
    token is repeated once with one (see :mod:`~.client.auth`). Transient failures (connection
    errors, timeouts, 5xx, throttling) are retried with exponential backoff and jitter, never
    sooner than ``Retry-After``; auth, not-found and bad-request errors are not. A call pauses
    when Canvas's ``X-Rate-Limit-Remaining`` runs low.
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
        if settings.developer_key is not None:
            redact.remember(settings.developer_key.client_secret)
            redact.remember(settings.developer_key.refresh_token)
        return settings

    @cached_property
    def transport(self) -> SyncTransport:
        from airflow_provider_canvas_reports.client.transport import SyncTransport

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
        from airflow_provider_canvas_reports.client.transport import AsyncTransport, async_clients

        settings = await self.asettings()
        async with async_clients.lease(settings) as pooled:
            yield AsyncTransport(pooled, settings, self.log)

    def run(self, request: calls.CanvasRequest) -> Any:
        """Send a described Canvas request (with retries) and return what it reads."""
        self.log.debug("Canvas %s", request.label)
        return self.transport.call(request)

    async def arun(self, request: calls.CanvasRequest) -> Any:
        """Async :meth:`run`, over the event loop's shared client."""
        self.log.debug("Canvas %s", request.label)
        async with self.async_transport() as transport:
            return await transport.call(request)

    def paginate(self, request: calls.CanvasRequest, max_pages: int = paging.MAX_PAGES) -> Iterator[Any]:
        """
        The items of a list call, page after page (``Link: rel="next"``, followed as given on the
        connection's Canvas host only); each page is retried like any call.

        :raises CanvasUnexpectedResponseError: if Canvas still links to a next page after ``max_pages``.
        """
        for _ in range(max_pages):
            page = self.run(request)
            yield from page.items
            if not page.next_url:
                return
            request = paging.next_request(request, page.next_url, self.settings.base_url)
        raise paging.too_many_pages(request, max_pages)

    async def apaginate(
        self, request: calls.CanvasRequest, max_pages: int = paging.MAX_PAGES
    ) -> AsyncIterator[Any]:
        """Async :meth:`paginate`."""
        settings = await self.asettings()
        for _ in range(max_pages):
            page = await self.arun(request)
            for item in page.items:
                yield item
            if not page.next_url:
                return
            request = paging.next_request(request, page.next_url, settings.base_url)
        raise paging.too_many_pages(request, max_pages)

    # --- what a DAG fans out over ----------------------------------------------------------------

    def iter_account_courses(
        self, account_id: int | str, *, max_pages: int = paging.MAX_PAGES, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """
        The courses of an account and its sub-accounts (``GET /api/v1/accounts/:id/courses``), as
        Canvas lists them, 100 a page, following ``Link: rel="next"`` as given; each page is retried
        like any call.

        :param account_id: a Canvas account id, ``self`` (the root account), or ``sis_account_id:X``.
        :param max_pages: stop (with an error) if Canvas still links to a next page after this many.
        :param filters: Canvas's filters by name: ``enrollment_term_id``, ``published``,
            ``completed``, ``with_enrollments``, ``state`` (a list: ``["available"]``),
            ``by_subaccounts``, ``search_term``, ``starts_before``, ... (``None`` values are left out).
        :return: an iterator of Course objects (``id``, ``name``, ``sis_course_id``, ...).
        :raises CanvasInvalidInputError: before any request, for an unknown filter or a value Canvas
            cannot take (a misspelt filter would otherwise list every course).
        :raises CanvasUnexpectedResponseError: when Canvas links to more than ``max_pages`` pages.

        .. seealso:: the "Discovering courses" how-to in the documentation.
        """
        request = calls.list_account_courses(validate_account_id(account_id), filters)
        self.log.info("Listing the courses of Canvas account %s: %s", account_id, request.path.split("?")[1])
        return self.paginate(request, max_pages)

    def aiter_account_courses(
        self, account_id: int | str, *, max_pages: int = paging.MAX_PAGES, **filters: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Async :meth:`iter_account_courses` (the filters are checked before it is iterated)."""
        request = calls.list_account_courses(validate_account_id(account_id), filters)
        return self.apaginate(request, max_pages)

    def list_course_sections(self, course_id: int | str) -> list[dict[str, Any]]:
        """
        The sections of a course (``GET /api/v1/courses/:course_id/sections``), every page: Section
        objects with ``id`` (what a pace report's ``section_ids`` names), ``name``, ``sis_section_id``.

        :param course_id: a Canvas course id, or ``sis_course_id:X`` and the other alternate forms.
        :raises CanvasInvalidInputError: before any request, for a course id Canvas cannot take.
        """
        return list(self.paginate(calls.list_course_sections(validate_course_id(course_id))))

    async def alist_course_sections(self, course_id: int | str) -> list[dict[str, Any]]:
        """Async :meth:`list_course_sections`."""
        request = calls.list_course_sections(validate_course_id(course_id))
        return [section async for section in self.apaginate(request)]

    def iter_sections_of_courses(
        self, course_ids: Iterable[int | str], concurrency: int | None = None
    ) -> Iterator[tuple[int | str, list[dict[str, Any]]]]:
        """
        ``(course_id, sections)`` for each course, in the order given, listing a few courses at once
        (``concurrency``, by default the smaller of 4 and the connection's ``max_connections``: each
        request in flight holds part of Canvas's rate-limit bucket, so more at once is throttled sooner).

        :raises CanvasInvalidInputError: before any request, for a course id Canvas cannot take.
        """
        from concurrent.futures import ThreadPoolExecutor

        checked = [validate_course_id(course_id) for course_id in course_ids]
        workers = max(1, concurrency or min(SECTION_LISTS_AT_ONCE, self.settings.max_connections))
        self.transport  # noqa: B018 - made once here, not by each thread
        with ThreadPoolExecutor(workers, thread_name_prefix="canvas-sections") as pool:
            yield from zip(checked, pool.map(self.list_course_sections, checked), strict=True)

    # --- any report: a target says which --------------------------------------------------------

    def start_report(
        self, target: ReportTarget, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        Start a report, making exactly one even when an answer is lost.

        The parameters are checked before any request. After a 5xx, a reset or a read timeout the
        POST may or may not have reached Canvas: before it is sent again, Canvas is asked whether
        it made the report (a course: the token's last report of the type; an account: the type's
        runs, newest first). A report created since this call began (allowing
        :data:`START_CLOCK_SKEW` for Canvas's clock) with exactly these parameters is the one the
        lost answer carried, and is returned. Otherwise the start is sent again, at most
        :data:`START_ATTEMPTS` times in all, with the hook's backoff. Errors that surely did
        nothing (throttling, a refused connection) are retried by :meth:`run` as for any call.

        :param target: the report type to start (``CourseReport.of(...)``, ``AccountReport.of(...)``).
        :param parameters: the report's parameters.
        :return: the report object (new, or the one the lost answer made).
        :raises CanvasInvalidInputError: before any request, for parameters Canvas cannot take.
        :raises CanvasNotFoundError: for an account report type the account does not offer, naming
            the types it offers.
        """
        import tenacity

        from airflow_provider_canvas_reports.client.transport import retry_options

        checked = target.check_parameters(parameters)
        request = calls.start_report(target, checked)
        since = datetime.now(timezone.utc) - START_CLOCK_SKEW
        options = retry_options(self.settings, self.log)
        options["stop"] = tenacity.stop_after_attempt(START_ATTEMPTS)
        options["retry"] = tenacity.retry_if_exception(
            lambda exc: isinstance(exc, CanvasError) and exc.retryable and exc.maybe_processed
        )

        def lost(state: tenacity.RetryCallState) -> None:
            self.log.warning(
                "Starting the %s report for %s may or may not have reached Canvas (%s); "
                "looking for the report it may have made in %.1f s (attempt %d of %d)",
                target.report_type,
                target.where,
                state.outcome.exception() if state.outcome else None,
                state.upcoming_sleep,
                state.attempt_number + 1,
                START_ATTEMPTS,
            )

        options["before_sleep"] = lost
        for attempt in tenacity.Retrying(**options):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    made = self._made_since(target, checked, since)
                    if made is not None:
                        self.log.info(
                            "Canvas made report %s before the answer was lost; using it", made["id"]
                        )
                        return made
                    self.log.info("Canvas made no report; starting it again")
                try:
                    return self._own(target, self.run(request))
                except CanvasNotFoundError as exc:
                    raise self._not_found(target, exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _made_since(
        self, target: ReportTarget, checked: Mapping[str, Any], since: datetime
    ) -> dict[str, Any] | None:
        """The report a lost start made, if Canvas lists one created since ``since`` with ``checked``."""
        if isinstance(target, AccountReport):
            candidates = [self._own(target, run) for run in self.run(calls.list_report_runs(target)).items]
        else:
            candidates = [
                r for r in [self.get_last_course_report(target.context_id, target.report_type)] if r
            ]
        for report in candidates:  # newest first
            created = _parse_time(report.get("created_at"))
            if created is None or created < since:
                return None
            if target.started_with(report, checked):
                return report
        return None

    def _not_found(self, target: ReportTarget, exc: CanvasNotFoundError) -> CanvasNotFoundError:
        """A 404 on an account report start: name the types the account offers (one more call)."""
        if not isinstance(target, AccountReport):
            return exc
        try:
            offered = sorted(str(t.get("report")) for t in self.list_account_reports(target.context_id))
        except CanvasNotFoundError:
            return CanvasNotFoundError(
                f"Canvas account {target.context_id} was not found (or this token cannot read its "
                f"reports): {exc.canvas_message}",
                status_code=404,
                canvas_message=exc.canvas_message,
            )
        return CanvasNotFoundError(
            f"Canvas account {target.context_id} offers no {target.report_type!r} report; it offers: "
            f"{', '.join(offered) or '(none)'}",
            status_code=404,
            canvas_message=exc.canvas_message,
        )

    def get_report(self, target: ReportTarget) -> dict[str, Any]:
        """The report ``target.report_id`` (its status, and once complete its file)."""
        return self._own(target, self.run(calls.get_report(target)))

    async def aget_report(self, target: ReportTarget) -> dict[str, Any]:
        """Async :meth:`get_report`."""
        return self._own(target, await self.arun(calls.get_report(target)))

    async def open_report_reader(self, target: ReportTarget, log: Log | None = None) -> LeasedCall:
        """
        A reader of the report's status for a long wait (what a trigger polls with): it holds a
        lease on the event loop's shared HTTP client and the one request it repeats, nothing else.
        ``await reader.read()`` for each status (retried like any call), ``await reader.close()``
        once done (also on cancellation).

        The connection is read in a task of its own, on a copy of this context: the lookup
        (asgiref's ``sync_to_async``) sets context variables that would otherwise stay in the
        caller's context for as long as it waits.
        """
        from airflow_provider_canvas_reports.client.transport import LeasedCall

        request = calls.get_report(target)
        settings = await asyncio.create_task(self.asettings())
        return LeasedCall.open(settings, request, log or self.log)

    def find_running_report(
        self, target: ReportTarget, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """
        The newest report of this type still queued or running with exactly these parameters, or
        ``None`` (a course: the token's last report; an account: the type's newest runs).
        """
        checked = target.check_parameters(parameters)
        if isinstance(target, AccountReport):
            runs = [self._own(target, run) for run in self.run(calls.list_report_runs(target)).items]
        else:
            runs = [r for r in [self.get_last_course_report(target.context_id, target.report_type)] if r]
        for report in runs:
            if report.get("status") in ACTIVE_STATES and target.started_with(report, checked):
                return report
        return None

    def cancel_report(self, target: ReportTarget) -> str | None:
        """
        Stop a report we walk away from, so it does not hold the account's one report queue.

        A running account report is aborted (``PUT .../abort``); one still queued (``created``,
        which Canvas cannot abort) is deleted. A finished report, and any course report (Canvas
        cannot stop those), is left alone. The log says which.

        :return: ``"aborted"``, ``"deleted"`` or ``None`` (nothing done).
        """
        if not target.can_abort:
            self.log.info("Canvas cannot stop course reports: %s keeps running", target.describe())
            return None
        status = self.get_report(target).get("status")
        if status in (ReportStatus.RUNNING.value, ReportStatus.COMPILING.value):
            try:
                self.run(calls.abort_report(target))
            except CanvasNotFoundError:  # it ended (or was never running) since the read
                status = self.get_report(target).get("status")
            else:
                self.log.warning("Aborted %s (it was %s)", target.describe(), status)
                return "aborted"
        if status == ReportStatus.CREATED.value:
            self.run(calls.delete_report(target))
            self.log.warning(
                "Deleted %s: it was still queued, and Canvas can abort only a running report",
                target.describe(),
            )
            return "deleted"
        self.log.info("%s is already %s; nothing to stop", target.describe(), status)
        return None

    @staticmethod
    def _own(target: ReportTarget, report: dict[str, Any]) -> dict[str, Any]:
        """
        Say whose report this is in the report itself: Canvas's account reports name neither the
        account nor, under ``report_type``, the type (they carry ``report``).
        """
        report.setdefault(target.context_key, target.context_id)
        report.setdefault("report_type", report.get("report") or target.report_type)
        return report

    # --- course reports --------------------------------------------------------------------------

    def start_course_report(
        self, course_id: int | str, report_type: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        Start a course report, making exactly one even when an answer is lost (:meth:`start_report`).

        :param course_id: a Canvas course id, or ``sis_course_id:X`` and the other alternate forms.
        :param report_type: the report type, e.g. ``course_pace_docx``.
        :param parameters: report parameters, e.g. ``{"section_ids": [1, 2]}``.
        :return: the new report object.
        :raises CanvasInvalidInputError: before any request, for ids or parameters Canvas cannot take.
        """
        return self.start_report(CourseReport.of(course_id, report_type), parameters)

    def start_course_report_once(
        self, course_id: int | str, report_type: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The same as :meth:`start_course_report` (which now settles a lost answer itself)."""
        return self.start_course_report(course_id, report_type, parameters)

    def get_course_report(
        self, course_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """Return the report ``report_id`` (its status, and once complete its file)."""
        return self.get_report(CourseReport.of(course_id, report_type, report_id))

    def get_last_course_report(self, course_id: int | str, report_type: str) -> dict[str, Any] | None:
        """
        Return this token's most recent report of this type for the course, or ``None``.

        With no report, older Canvas answers ``{}`` and current Canvas its generic HTTP 500; the
        500 is checked once more (it could be a passing fault) and then read as ``None``.
        """
        request = calls.get_last_course_report(CourseReport.of(course_id, report_type))
        for check in _NO_REPORT_CHECKS:
            try:
                return self.run(request)
            except CanvasNoReportError:
                self._log_no_report(course_id, report_type, check)
        return None

    async def aget_course_report(
        self, course_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """Async :meth:`get_course_report`."""
        return await self.aget_report(CourseReport.of(course_id, report_type, report_id))

    async def aget_last_course_report(self, course_id: int | str, report_type: str) -> dict[str, Any] | None:
        """Async :meth:`get_last_course_report`."""
        request = calls.get_last_course_report(CourseReport.of(course_id, report_type))
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

    # --- account reports -------------------------------------------------------------------------

    def list_account_reports(self, account_id: int | str) -> list[dict[str, Any]]:
        """
        The report types the account offers (``GET /api/v1/accounts/:id/reports``): each with
        ``report``, ``title``, ``parameters`` (name → ``{required, description}``) and ``last_run``.
        Which types exist depends on the account's settings: read this, never assume a type.
        """
        return list(self.paginate(calls.list_account_reports(validate_account_id(account_id))))

    async def alist_account_reports(self, account_id: int | str) -> list[dict[str, Any]]:
        """Async :meth:`list_account_reports`."""
        request = calls.list_account_reports(validate_account_id(account_id))
        return [item async for item in self.apaginate(request)]

    def start_account_report(
        self, account_id: int | str, report_type: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        Start an account report, making exactly one even when an answer is lost (:meth:`start_report`).

        Flags are sent as Canvas reads them (JSON booleans), ``skip_message`` defaults to true (no
        e-mail per run), and a ``provisioning_csv``/``sis_export_csv`` without any true part is
        refused before any request.

        :param account_id: a Canvas account id, ``self``, or ``sis_account_id:X``.
        :param report_type: the report type, e.g. ``provisioning_csv``.
        :param parameters: report parameters, e.g. ``{"users": True, "enrollment_term_id": 12}``.
        :return: the new report object (with ``account_id`` and ``report_type`` added).
        :raises CanvasInvalidInputError: before any request, for ids or parameters Canvas cannot take.
        :raises CanvasNotFoundError: for a type the account does not offer, naming those it does.
        """
        return self.start_report(AccountReport.of(account_id, report_type), parameters)

    def get_account_report(
        self, account_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """The account report ``report_id`` (status, ``current_line``, and once complete its file)."""
        return self.get_report(AccountReport.of(account_id, report_type, report_id))

    async def aget_account_report(
        self, account_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """Async :meth:`get_account_report`."""
        return await self.aget_report(AccountReport.of(account_id, report_type, report_id))

    def list_account_report_runs(
        self, account_id: int | str, report_type: str, max_pages: int = paging.MAX_PAGES
    ) -> list[dict[str, Any]]:
        """The runs of one account report type, newest first (every page, up to ``max_pages``)."""
        target = AccountReport.of(account_id, report_type)
        return [self._own(target, run) for run in self.paginate(calls.list_report_runs(target), max_pages)]

    def abort_account_report(
        self, account_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """
        Abort a running account report (``PUT .../abort``). Canvas aborts only a running report and
        answers 404 (:class:`CanvasNotFoundError`) for any other: :meth:`cancel_report` decides
        between abort and delete for you.
        """
        target = AccountReport.of(account_id, report_type, report_id)
        return self._own(target, self.run(calls.abort_report(target)))

    def delete_account_report(
        self, account_id: int | str, report_type: str, report_id: int | str
    ) -> dict[str, Any]:
        """Delete an account report (Canvas's soft delete: its status becomes ``deleted``)."""
        target = AccountReport.of(account_id, report_type, report_id)
        return self._own(target, self.run(calls.delete_report(target)))

    # --- files -----------------------------------------------------------------------------------

    def download_report_file(
        self,
        report: Mapping[str, Any],
        fileobj: BinaryIO,
        on_progress: Callable[[int], None] | None = None,
    ) -> DownloadResult:
        """
        Stream a complete report's file (a course or an account report) into ``fileobj`` and return
        its size and sha256.

        Follows Canvas's redirect to object storage without sending ``Authorization`` there,
        checks the byte count against ``attachment.size``, and retries a cut or failed transfer
        (by range when the storage allows, else from the start, so ``fileobj`` must be seekable).
        A ``file_url`` that storage refuses (expired) is read afresh from the report once.

        :param report: the report object from :meth:`get_report` (or a family's ``get_*_report``),
            with ``file_url``.
        :param fileobj: a writable, seekable binary file.
        :param on_progress: called with the bytes written so far after each chunk; without one,
            the progress is logged (every 10 s, and once at the end).
        """
        from airflow_provider_canvas_reports.client.download import ProgressLog, ReportFileDownloader

        file_url = report.get("file_url")
        if not file_url:
            raise CanvasInvalidInputError(
                f"Canvas report {report.get('id')} has no file_url (status {report.get('status')})"
            )
        attachment = report.get("attachment") or {}
        size = attachment.get("size") if isinstance(attachment, Mapping) else None
        expected = size if isinstance(size, int) else None
        logged = ProgressLog(self.log, expected) if on_progress is None else None
        downloader = ReportFileDownloader(self.get_conn(), self.settings, self.log)
        result = downloader.download(
            file_url, fileobj, expected, logged or on_progress, self._refresher(report)
        )
        if logged is not None:
            logged(result.size, final=True)
        return result

    def _refresher(self, report: Mapping[str, Any]) -> Callable[[], str] | None:
        """How to read ``report`` again for a fresh ``file_url`` (``None`` if it cannot say where from)."""
        target = _target_of(report)
        if target is None:
            return None

        def refresh() -> str:
            fresh = self.get_report(target)
            if not fresh.get("file_url"):
                raise CanvasInvalidInputError(
                    f"Canvas report {target.report_id} has no file_url any more "
                    f"(status {fresh.get('status')})"
                )
            return str(fresh["file_url"])

        return refresh

    # --- the Airflow UI ---------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """
        Make one cheap authenticated call (``GET /api/v1/users/self``) for the UI's Test button;
        with a developer key, an access token is made from it first, so the key, its secret and
        its refresh token are all checked.
        """
        try:
            user = self.run(calls.get_self())
        except Exception as exc:
            return False, redact.scrub(str(exc))
        key = self.settings.developer_key
        how = f"developer key {key.client_id}" if key is not None else "access token"
        return True, f"Connected to {self.settings.base_url} as {user.get('name') or user.get('id')} ({how})"

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
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, PasswordField, StringField

        from airflow_provider_canvas_reports.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            if "boolean" in spec["schema"]["type"]:
                widgets[name] = BooleanField(lazy_gettext(spec["label"]), description=spec["description"])
            elif spec["schema"].get("format") == "password":  # the developer key's secrets
                widgets[name] = PasswordField(
                    lazy_gettext(spec["label"]),
                    widget=BS3PasswordFieldWidget(),
                    description=spec["description"],
                )
            else:
                widgets[name] = StringField(
                    lazy_gettext(spec["label"]), widget=BS3TextFieldWidget(), description=spec["description"]
                )
        return widgets


def _target_of(report: Mapping[str, Any]) -> ReportTarget | None:
    """The target a report read through this hook belongs to, or ``None`` if it does not say."""
    report_type, report_id = report.get("report_type") or report.get("report"), report.get("id")
    for family, key in ((AccountReport, "account_id"), (CourseReport, "course_id")):
        if report.get(key) is not None and report_type and report_id is not None:
            try:
                return family.of(report[key], report_type, report_id)
            except CanvasInvalidInputError:
                return None
    return None


def _parse_time(value: object) -> datetime | None:
    """Canvas's ISO 8601 timestamps (``2013-12-02T00:03:21-06:00``, or ``Z``)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
