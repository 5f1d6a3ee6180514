"""
The one implementation of "start a report" and "land its file" that both report families use.

:class:`~.operators.course_report.StartCourseReportOperator` and
:class:`~.operators.account_report.StartAccountReportOperator` (and the two download operators)
only say which report (a :class:`~.targets.ReportTarget`) and what their XCom carries; starting
exactly once, reattaching on a retry, waiting in each mode, stopping what is walked away from, and
landing the file atomically are written here once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, BaseOperator, conf

from airflow_provider_canvas_reports import reports
from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasError,
    CanvasNotFoundError,
    CanvasUnexpectedResponseError,
    DestinationExistsError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.status import ReportStatus
from airflow_provider_canvas_reports.tasks import defer_until_finished

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_canvas_reports.targets import ReportTarget

#: task_state_store key that keeps the started report id across retries (Airflow 3.3+).
REPORT_ID_STATE_KEY = "canvas_report_id"


def _clear_generation(context: Context, task: BaseOperator) -> int | None:
    """
    Which clearing of the task this try belongs to: Airflow raises ``max_tries`` by the task's
    retries each time a task is cleared, so ``max_tries - retries`` stays the same across retries
    and changes when a user clears the task.
    """
    max_tries = getattr(context.get("ti"), "max_tries", None)
    return max_tries - (task.retries or 0) if isinstance(max_tries, int) else None


def _is_retry(context: Context, generation: int | None) -> bool:
    """Whether this is not the first try since the task was scheduled or last cleared."""
    try_number = getattr(context.get("ti"), "try_number", 1) or 1
    return try_number > (generation or 0) + 1


class StartReportOperator(BaseOperator):
    """
    Start a Canvas report and return its id (or, when waiting, its finished metadata): the base of
    the course and account start operators, which say which report through :meth:`target`.

    Canvas makes a new report on every start, so this takes care not to start one twice:

    * A start whose answer is lost is settled within the same try by
      :meth:`~.hooks.canvas.CanvasHook.start_report` (a TaskFlow task calling the hook gets the
      same guarantee).
    * The report id is kept in the task's state store (Airflow 3.3+), and a retry reattaches to it
      unless it failed, or now answers 403/404: then a new report is started, and the log says why.
    * Clearing the task starts a fresh report: a report stored before the clear is not reused.
    * On a retry (or always, with ``reattach_running_report``), the newest report of this type
      still running with exactly the same parameters is also reused.

    A report this task walks away from is stopped where Canvas allows it (account reports): a wait
    that times out (in every mode), a task killed or marked failed while it waits in the worker
    (``on_kill``), or an ``execution_timeout``, aborts the running report or deletes a queued one.

    .. seealso:: :doc:`/howto/course-reports` and :doc:`/howto/account-reports`

    :param parameters: report parameters. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param wait_for_completion: wait until the report is complete and return its metadata.
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks while waiting.
    :param timeout: seconds to wait for completion before failing (``None``: no limit).
    :param reattach_running_report: also on the first try, reuse a running report with the same
        parameters instead of starting another (retries always do).
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    :return: the report id; with ``wait_for_completion``, the finished report's metadata (never its
        ``file_url``).
    :raises CanvasInvalidInputError: before any request, for ids or parameters Canvas cannot take.
    :raises CanvasReportFailedError: the report ended in ``error``, ``aborted`` or ``deleted`` while
        this task waited.
    :raises AirflowSensorTimeout: the wait outlasted ``timeout``.
    """

    template_fields_renderers = {"parameters": "json"}

    def __init__(
        self,
        *,
        parameters: Any = None,
        canvas_conn_id: Any = CanvasHook.default_conn_name,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | None = None,
        reattach_running_report: bool = False,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parameters = parameters
        self.canvas_conn_id = canvas_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.reattach_running_report = reattach_running_report
        self.hook_params = hook_params or {}
        self._waiting_for: ReportTarget | None = None

    def target(self) -> ReportTarget:
        """The report type to start, validated from the rendered fields (bad input fails at once)."""
        raise NotImplementedError

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def execute(self, context: Context) -> Any:
        target = self.target()
        target.check_parameters(self.parameters)
        self.before_start(context, target)
        report = self._report_to_reattach(context, target)
        if report is None:
            report = self.hook.start_report(target, self.parameters)
            self.log.info("Started %s (%s)", target.with_id(report["id"]).describe(), report.get("status"))
            self._remember(context, int(report["id"]))
        started = target.with_id(report["id"])
        if not self.wait_for_completion:
            return started.report_id
        summary = reports.finished_summary(started, report)
        if summary:
            return summary
        if self.deferrable:
            defer_until_finished(self, started, self.poll_interval, self.timeout)
        return self._wait_blocking(started)

    def before_start(self, context: Context, target: ReportTarget) -> None:
        """Called once the input is checked, before anything is started (e.g. an extra link)."""

    def _remember(self, context: Context, report_id: int) -> None:
        """Keep the started report in the task's state store (Airflow 3.3+) for a retry to reattach."""
        state = context.get("task_state_store")
        if state is not None:
            state.set(
                REPORT_ID_STATE_KEY, {"report_id": report_id, "generation": _clear_generation(context, self)}
            )

    def _report_to_reattach(self, context: Context, target: ReportTarget) -> dict[str, Any] | None:
        """The report an earlier try of this task started, if it can still serve; else ``None``."""
        generation = _clear_generation(context, self)
        state = context.get("task_state_store")
        stored = state.get(REPORT_ID_STATE_KEY) if state is not None else None
        stored_id = stored.get("report_id") if isinstance(stored, dict) else None
        if isinstance(stored, dict) and isinstance(stored_id, int):
            if stored.get("generation") != generation:
                self.log.info(
                    "Report %s was started before this task was cleared; starting a fresh one", stored_id
                )
                return None
            try:
                report = self.hook.get_report(target.with_id(stored_id))
            except (CanvasNotFoundError, CanvasAuthError) as exc:
                self.log.warning(
                    "The report an earlier try started (%s) can no longer be read (HTTP %s: %s); "
                    "starting a new one",
                    stored_id,
                    exc.status_code,
                    exc.canvas_message,
                )
                return None
            if not ReportStatus.is_failure(report.get("status")):
                self.log.info("Reattaching to Canvas %s, started by an earlier try", reports.describe(report))
                return report
            self.log.warning(
                "The report an earlier try started (%s) failed; starting a new one", reports.describe(report)
            )
            return None
        if not (_is_retry(context, generation) or self.reattach_running_report):
            return None
        running = self.hook.find_running_report(target, self.parameters)
        if running is not None:
            self.log.info("Reattaching to the running %s (same parameters)", reports.describe(running))
        return running

    def _wait_blocking(self, target: ReportTarget) -> dict[str, Any]:
        # A local monotonic deadline: it never leaves this process.
        end = None if self.timeout is None else time.monotonic() + self.timeout
        failures = 0
        report: dict[str, Any] | None = None
        queued_since: float | None = None
        self._waiting_for = target
        try:
            while True:
                try:
                    report = self.hook.get_report(target)
                except CanvasError as exc:
                    # Canvas away for longer than one call's retries: wait on while time is left.
                    if not reports.is_transient(exc):
                        raise
                    failures += 1
                    self.log.warning("Canvas status read failed (%s); the wait goes on", exc)
                    interval = reports.outage_pause(self.poll_interval, failures)
                else:
                    failures = 0
                    reports.log_status(self.log, target, report)
                    summary = reports.finished_summary(target, report)
                    if summary:
                        self._waiting_for = None
                        return summary
                    queued_since = self._note_queue(target, report, queued_since)
                    interval = self.poll_interval
                remaining = None if end is None else end - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise AirflowSensorTimeout(reports.timeout_message(target, self.timeout or 0, report))
                time.sleep(interval if remaining is None else min(interval, remaining))
        except (Exception, KeyboardInterrupt) as exc:
            # Walking away (our timeout, execution_timeout, a kill): stop what we started. A report
            # that failed on its own (CanvasReportFailedError) has nothing left to stop.
            if self._waiting_for is not None and not isinstance(exc, CanvasError):
                self._stop(self._waiting_for)
            raise
        finally:
            self._waiting_for = None

    def _note_queue(
        self, target: ReportTarget, report: dict[str, Any], queued_since: float | None
    ) -> float | None:
        """Say once when an account report has been queued (``created``) for long; track since when."""
        if report.get("status") != ReportStatus.CREATED.value or not target.can_abort:
            return None
        now = time.monotonic()
        if queued_since is None:
            return now
        if queued_since >= 0 and now - queued_since >= reports.QUEUED_NOTICE_SECONDS:
            reports.log_queued(self.log, target, now - queued_since)
            return -1.0  # said once
        return queued_since

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, report_id: Any = None
    ) -> dict[str, Any]:
        """Called when the trigger fires: validate its event and return the report summary."""
        target = self.target()
        report_id = report_id if report_id is not None else reports.event_report_id(event)
        started = target.with_id(report_id) if report_id is not None else None
        try:
            return reports.summary_from_event(event, started or target)
        except AirflowSensorTimeout:
            if started is not None:
                self._stop(started)
            raise

    def on_kill(self) -> None:
        """Stop the report this task was waiting for in the worker (killed, or marked failed)."""
        target, self._waiting_for = self._waiting_for, None
        if target is not None:
            self._stop(target)

    def _stop(self, target: ReportTarget) -> None:
        if not target.can_abort:
            return
        try:
            self.hook.cancel_report(target)
        except CanvasError as exc:
            self.log.warning("Could not stop %s: %s", target.describe(), exc)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the Canvas report as the input. Makes no call to Canvas: the Canvas URL comes
        from the connection settings ``execute`` already read (read again, without a request, when
        the task resumed after deferring).
        """
        from airflow_provider_canvas_reports.lineage import canvas_report_dataset, operator_lineage

        return operator_lineage(inputs=[canvas_report_dataset(self.hook.settings.base_url, self.target())])


class DownloadReportOperator(BaseOperator):
    """
    Download a complete Canvas report's file to a local path or object storage: the base of the
    course and account download operators, which say which report through :meth:`target`.

    The report is fetched afresh (so no ``file_url`` travels through XCom), the redirect to
    storage is followed without ``Authorization``, and the file is streamed in chunks (memory stays
    flat), hashed (sha256) and checked against the attachment's size; a cut transfer is retried. A
    local file is written under a temporary name and moved into place only when complete; in
    object storage it is made visible only when complete (a multipart upload on S3, aborted on
    failure). A failed download leaves nothing at the destination. The destination is checked
    before anything is fetched.

    .. seealso:: :doc:`/howto/course-reports` and :doc:`/howto/assets-and-lineage`

    :param destination: a local path or an ObjectStoragePath URI (``file://``, ``s3://``, ...); one
        ending in ``/`` is a folder, and the attachment's name (made safe for a path) is used. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param overwrite: replace an existing file at the destination, atomically (the default, so
        that re-running a date works); when ``False`` an existing file fails the task before
        anything is downloaded, and nothing changes.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook`.
    :return: ``{"uri", "filename", "size", "sha256", "content_type", "report_id", "report_type"}``
        and the family's id (``course_id`` or ``account_id``).
    :raises DestinationError: the destination cannot be written (checked before any download).
    :raises DestinationExistsError: a file is there and ``overwrite`` is ``False``; nothing changed.
    :raises CanvasDownloadError: the file could not be downloaded whole, after retries.
    """

    ui_color = "#dce8f6"

    def __init__(
        self,
        *,
        destination: Any,
        canvas_conn_id: Any = CanvasHook.default_conn_name,
        overwrite: bool = True,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self.canvas_conn_id = canvas_conn_id
        self.overwrite = overwrite
        self.hook_params = hook_params or {}

    def target(self) -> ReportTarget:
        """The report to land, validated from the rendered fields (bad input fails at once)."""
        raise NotImplementedError

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_canvas_reports.destinations import Destination, safe_filename

        target = self.target()
        destination = Destination(self.destination)
        destination.check()
        report = self.hook.get_report(target)
        if not reports.finished_summary(target, report):
            raise CanvasError(
                f"{target.describe()} is '{report.get('status')}', not complete: nothing to download yet"
            )
        attachment = report.get("attachment")
        if not isinstance(attachment, Mapping) or not report.get("file_url"):
            raise CanvasUnexpectedResponseError(f"{target.describe()} is complete but has no file")
        original_name = attachment.get("display_name") or attachment.get("filename")
        landing = destination.file(safe_filename(original_name))
        if landing.name != original_name:
            self.log.info("The report's file name %r lands as %r", original_name, landing.name)
        if landing.exists():
            if not self.overwrite:
                raise DestinationExistsError(
                    f"{landing.uri} already exists and overwrite=False; nothing changed. Set "
                    "overwrite=True to replace it, or put the date in the destination ({{ ds }})"
                )
            self.log.info(
                "%s exists (an earlier run): it is replaced once the new file is complete", landing.uri
            )
        size = attachment.get("size")
        expected = size if isinstance(size, int) else None
        self.log.info("Downloading %s (%s bytes) to %s", attachment.get("filename"), size, landing.uri)
        settings = self.hook.settings
        with landing.atomic_writer(
            self.overwrite,
            expected,
            part_size=settings.upload_part_size_mib << 20,
            window=settings.upload_window,
        ) as handle:
            result = self.hook.download_report_file(report, handle)
        self.log.info("Landed %s: %d bytes, sha256 %s", landing.uri, result.size, result.sha256)
        landed = {
            "uri": landing.uri,
            "filename": landing.name,
            "size": result.size,
            "sha256": result.sha256,
            "content_type": attachment.get("content-type") or result.content_type,
            **target.ids(),
        }
        if landing.name != original_name:
            landed["original_filename"] = original_name
        self._landed = (self.hook.settings.base_url, target, landing.plain_uri, result.size)
        self._record_asset_events(context, landed, landing.plain_uri, target)
        return landed

    def _record_asset_events(
        self, context: Context, landed: dict[str, Any], asset_uri: str, target: ReportTarget
    ) -> None:
        """Attach what landed to the events of this task's asset outlets (asset aliases: add the file)."""
        if not self.outlets:
            return
        from airflow.providers.common.compat.assets import Asset, AssetAlias

        keys = (*target.ids(), "uri", "filename", "size", "sha256")
        extra = {key: landed[key] for key in keys}
        outlet_events: Any = context["outlet_events"]
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                outlet_events[outlet].add(Asset(asset_uri), extra=extra)
            elif isinstance(outlet, Asset):
                outlet_events[outlet].extra.update(extra)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the Canvas report in, the landed file out (with its size). Uses only what
        ``execute`` kept: no call to Canvas or to the storage.
        """
        from airflow_provider_canvas_reports.lineage import (
            canvas_report_dataset,
            file_dataset,
            operator_lineage,
        )

        landed = getattr(self, "_landed", None)
        if landed is None:
            return operator_lineage()
        base_url, target, uri, size = landed
        return operator_lineage(
            inputs=[canvas_report_dataset(base_url, target)], outputs=[file_dataset(uri, size)]
        )
