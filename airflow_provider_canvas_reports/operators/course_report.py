"""Operators that start a Canvas course report and land its file."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, BaseOperator, conf

from airflow_provider_canvas_reports import api, reports
from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.api import ACTIVE_STATES, ReportStatus
from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasError,
    CanvasNotFoundError,
    DestinationExistsError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.links import CanvasCourseLink
from airflow_provider_canvas_reports.tasks import defer_until_finished, validated_ids

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too

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


def _remember(context: Context, task: BaseOperator, report_id: int) -> None:
    """Keep the started report in the task's state store (Airflow 3.3+) for a retry to reattach."""
    state = context.get("task_state_store")
    if state is not None:
        state.set(
            REPORT_ID_STATE_KEY, {"report_id": report_id, "generation": _clear_generation(context, task)}
        )


class StartCourseReportOperator(BaseOperator):
    """
    Start a Canvas course report and return its id (or, when waiting, its finished metadata).

    Canvas makes a new report on every start, so this operator takes care not to start one twice:

    * A start whose answer is lost is settled within the same try by
      :meth:`~.hooks.canvas.CanvasHook.start_course_report_once` (a TaskFlow task calling the hook
      gets the same guarantee).
    * The report id is kept in the task's state store (Airflow 3.3+), and a retry reattaches to it
      unless it failed, or now answers 403/404 (the token changed, or the report was deleted): then
      a new report is started, and the log says why.
    * Clearing the task starts a fresh report: a report stored before the clear is not reused.
    * On a retry (or always, with ``reattach_running_report``), the course's latest report of this
      type is also reused while it is still running for exactly the same sections and enrollments.

    ``course_pace_docx`` needs a non-empty ``section_ids`` or ``enrollment_ids``; without, the task
    fails before any request. Canvas has no way to cancel a course report, so ``on_kill`` has
    nothing to abort: a killed task leaves the report running, and the retry reattaches to it.

    :param course_id: the Canvas course id, or an alternate form such as ``sis_course_id:X``. (templated)
    :param report_type: the report type; ``course_pace_docx`` is the one Canvas offers. (templated)
    :param parameters: report parameters: ``{"section_ids": [1, 2]}`` and/or
        ``{"enrollment_ids": [...]}``, the keys Canvas reads. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param wait_for_completion: wait until the report is complete and return its metadata.
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks while waiting.
    :param timeout: seconds to wait for completion before failing (``None``: no limit).
    :param reattach_running_report: also on the first try, reuse a running report with the same
        parameters instead of starting another (retries always do).
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    """

    template_fields: Sequence[str] = ("course_id", "report_type", "parameters", "canvas_conn_id")
    template_fields_renderers = {"parameters": "json"}
    operator_extra_links = (CanvasCourseLink(),)
    ui_color = "#fce8d4"

    def __init__(
        self,
        *,
        course_id: int | str | XComArg,
        report_type: str | XComArg = "course_pace_docx",
        parameters: dict[str, Any] | XComArg | None = None,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | None = None,
        reattach_running_report: bool = False,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.course_id = rendered(course_id)
        self.report_type = rendered(report_type)
        self.parameters = rendered(parameters)
        self.canvas_conn_id = rendered(canvas_conn_id)
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.reattach_running_report = reattach_running_report
        self.hook_params = hook_params or {}

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def execute(self, context: Context) -> Any:
        course_id, report_type = validated_ids(self.course_id, self.report_type)
        api.report_parameters(report_type, self.parameters)
        CanvasCourseLink.persist(
            context, self, f"{self.hook.settings.base_url}/courses/{api.course_id_path_segment(course_id)}"
        )
        report = self._report_to_reattach(context, course_id, report_type)
        if report is None:
            report = self._start(course_id, report_type)
            _remember(context, self, int(report["id"]))
        report_id = int(report["id"])
        if not self.wait_for_completion:
            return report_id
        summary = reports.finished_summary(course_id, report_type, report)
        if summary:
            return summary
        if self.deferrable:
            defer_until_finished(self, course_id, report_type, report_id, self.poll_interval, self.timeout)
        return self._wait_blocking(course_id, report_type, report_id)

    def _start(self, course_id: Any, report_type: str) -> dict[str, Any]:
        """Start the report through the hook, which settles a start whose answer was lost."""
        report = self.hook.start_course_report_once(course_id, report_type, self.parameters)
        self.log.info(
            "Started Canvas %s report %s for course %s (%s)",
            report_type,
            report.get("id"),
            course_id,
            report.get("status"),
        )
        return report

    def _report_to_reattach(
        self, context: Context, course_id: Any, report_type: str
    ) -> dict[str, Any] | None:
        """The report an earlier try of this task started, if it can still serve; else ``None``."""
        generation = _clear_generation(context, self)
        state = context.get("task_state_store")
        stored = state.get(REPORT_ID_STATE_KEY) if state is not None else None
        stored_id = stored.get("report_id") if isinstance(stored, dict) else None
        if isinstance(stored, dict) and isinstance(stored_id, int):
            if stored.get("generation") != generation:
                self.log.info(
                    "Report %s was started before this task was cleared; starting a fresh one",
                    stored["report_id"],
                )
                return None
            try:
                report = self.hook.get_course_report(course_id, report_type, stored_id)
            except (CanvasNotFoundError, CanvasAuthError) as exc:
                self.log.warning(
                    "The report an earlier try started (%s) can no longer be read (HTTP %s: %s); "
                    "starting a new one",
                    stored["report_id"],
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
        last = self.hook.get_last_course_report(course_id, report_type)
        if last and last.get("status") in ACTIVE_STATES and api.same_selection(last, self.parameters):
            self.log.info("Reattaching to the course's running %s (same parameters)", reports.describe(last))
            return last
        return None

    def _wait_blocking(self, course_id: Any, report_type: str, report_id: int) -> dict[str, Any]:
        end = None if self.timeout is None else time.monotonic() + self.timeout
        failures = 0
        report: dict[str, Any] | None = None
        while True:
            try:
                report = self.hook.get_course_report(course_id, report_type, report_id)
            except CanvasError as exc:
                # Canvas away for longer than one call's retries: wait on while time is left.
                if not reports.is_transient(exc):
                    raise
                failures += 1
                self.log.warning("Canvas status read failed (%s); the wait goes on", exc)
                interval = reports.outage_pause(self.poll_interval, failures)
            else:
                failures = 0
                reports.log_status(self.log, course_id, report)
                summary = reports.finished_summary(course_id, report_type, report)
                if summary:
                    return summary
                interval = self.poll_interval
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise AirflowSensorTimeout(
                    reports.timeout_message(course_id, report_type, self.timeout or 0, report)
                )
            time.sleep(interval if remaining is None else min(interval, remaining))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Called when the trigger fires: validate its event and return the report summary."""
        return reports.summary_from_event(event, self.course_id, self.report_type)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the Canvas course report as the input. Makes no call to Canvas: the Canvas URL
        comes from the connection settings ``execute`` already read (read again, without a request,
        when the task resumed after deferring).
        """
        from airflow_provider_canvas_reports.lineage import canvas_report_dataset, operator_lineage

        course_id, report_type = validated_ids(self.course_id, self.report_type)
        report = canvas_report_dataset(self.hook.settings.base_url, course_id, report_type)
        return operator_lineage(inputs=[report])


class DownloadCourseReportOperator(BaseOperator):
    """
    Download a complete Canvas course report's file to a local path or object storage.

    The report is fetched afresh (so no ``file_url`` travels through XCom), the redirect to
    storage is followed without ``Authorization``, and the file is streamed in chunks (memory stays
    flat), hashed (sha256) and checked against the attachment's size. A cut transfer is retried.
    A local file is written under a temporary name and moved into place only when complete; in
    object storage the file is uploaded straight to its key and made visible only when complete
    (a multipart upload on S3, aborted on failure). A failed download leaves nothing at the
    destination.

    The destination is checked before anything is fetched: a folder that cannot be created or
    written in, a file path that is an existing folder, or a bucket that does not exist fails the
    task at once (no retry), naming the destination as given.

    Assets: with ``outlets=[Asset(...)]`` the asset event carries ``extra`` = ``{"course_id",
    "report_id", "report_type", "uri", "filename", "size", "sha256"}``; with an ``AssetAlias`` in
    ``outlets``, an event for ``Asset(<the landed file's URI>)`` is added to the alias with that
    extra (for URIs known only at run time, e.g. under ``{{ ds }}``). On Airflow 2.11 the same
    works with ``Dataset`` and ``DatasetAlias``.

    Re-running a logical date (a backfill, a cleared task, a retry) replaces the file that date
    wrote: with ``overwrite=True`` (the default) the new file is moved over the old one only once
    it is complete, so readers see either the old file or the new one, never a partial one. Put
    the date in the destination (``.../{{ ds }}/``) so each date owns its file; a file at the same
    path from another date would be replaced too. Other files in a destination folder are left
    alone. With ``overwrite=False`` an existing file fails the task before anything is downloaded.

    :param course_id: the Canvas course id, or an alternate form. (templated)
    :param report_id: the report, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param destination: a local path or an ObjectStoragePath URI (``file://``, ``s3://``, ...); one
        ending in ``/`` is a folder, and the attachment's name (Canvas's ``display_name``, made
        safe for a path) is used. (templated)
    :param report_type: the report type. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param overwrite: replace an existing file at the destination, atomically (the default, so
        that re-running a date works); when ``False`` an existing file fails the task before
        anything is downloaded, and nothing changes.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook`.
    :return: ``{"uri", "filename", "size", "sha256", "content_type", "report_id", "course_id",
        "report_type"}``; ``ObjectStoragePath(uri)`` reopens the file (a local ``uri`` is
        ``file://`` plus the path, not percent-encoded, as ``ObjectStoragePath`` writes it).
    """

    template_fields: Sequence[str] = (
        "course_id",
        "report_type",
        "report_id",
        "destination",
        "canvas_conn_id",
    )
    ui_color = "#dce8f6"

    def __init__(
        self,
        *,
        course_id: int | str | XComArg,
        report_id: int | str | XComArg,
        destination: str | XComArg,
        report_type: str | XComArg = "course_pace_docx",
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        overwrite: bool = True,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.course_id = rendered(course_id)
        self.report_id = rendered(report_id)
        self.destination = rendered(destination)
        self.report_type = rendered(report_type)
        self.canvas_conn_id = rendered(canvas_conn_id)
        self.overwrite = overwrite
        self.hook_params = hook_params or {}

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_canvas_reports.destinations import Destination, safe_filename
        from airflow_provider_canvas_reports.download import ProgressLog
        from airflow_provider_canvas_reports.exceptions import CanvasError, CanvasUnexpectedResponseError

        course_id, report_type, report_id = validated_ids(self.course_id, self.report_type, self.report_id)
        destination = Destination(self.destination)
        destination.check()
        report = self.hook.get_course_report(course_id, report_type, report_id)
        if not reports.finished_summary(course_id, report_type, report):
            raise CanvasError(
                f"Canvas {report_type} report {report_id} of course {course_id} is "
                f"'{report.get('status')}', not complete: nothing to download yet"
            )
        attachment = report.get("attachment")
        if not isinstance(attachment, Mapping) or not report.get("file_url"):
            raise CanvasUnexpectedResponseError(
                f"Canvas {report_type} report {report_id} of course {course_id} is complete but has no file"
            )
        original_name = attachment.get("display_name") or attachment.get("filename")
        target = destination.file(safe_filename(original_name))
        if target.name != original_name:
            self.log.info("The report's file name %r lands as %r", original_name, target.name)
        if target.exists():
            if not self.overwrite:
                raise DestinationExistsError(
                    f"{target.uri} already exists and overwrite=False; nothing changed. Set "
                    "overwrite=True to replace it, or put the date in the destination ({{ ds }})"
                )
            self.log.info(
                "%s exists (an earlier run): it is replaced once the new file is complete", target.uri
            )
        size = attachment.get("size")
        expected = size if isinstance(size, int) else None
        self.log.info("Downloading %s (%s bytes) to %s", attachment.get("filename"), size, target.uri)
        progress = ProgressLog(self.log, expected)
        with target.atomic_writer(self.overwrite, expected) as handle:
            result = self.hook.download_report_file(report, handle, on_progress=progress)
        progress(result.size, final=True)
        self.log.info("Landed %s: %d bytes, sha256 %s", target.uri, result.size, result.sha256)
        landed = {
            "uri": target.uri,
            "filename": target.name,
            "size": result.size,
            "sha256": result.sha256,
            "content_type": attachment.get("content-type") or result.content_type,
            "report_id": report_id,
            "course_id": course_id,
            "report_type": report_type,
        }
        if target.name != original_name:
            landed["original_filename"] = original_name
        self._landed = (self.hook.settings.base_url, course_id, report_type, target.plain_uri, result.size)
        self._record_asset_events(context, landed, target.plain_uri)
        return landed

    def _record_asset_events(self, context: Context, landed: dict[str, Any], asset_uri: str) -> None:
        """Attach what landed to the events of this task's asset outlets (asset aliases: add the file)."""
        if not self.outlets:
            return
        from airflow.providers.common.compat.assets import Asset, AssetAlias

        extra = {
            key: landed[key]
            for key in ("course_id", "report_id", "report_type", "uri", "filename", "size", "sha256")
        }
        outlet_events: Any = context["outlet_events"]
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                outlet_events[outlet].add(Asset(asset_uri), extra=extra)
            elif isinstance(outlet, Asset):
                outlet_events[outlet].extra.update(extra)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the Canvas course report in, the landed file out (with its size). Uses only
        what ``execute`` kept: no call to Canvas or to the storage.
        """
        from airflow_provider_canvas_reports.lineage import (
            canvas_report_dataset,
            file_dataset,
            operator_lineage,
        )

        landed = getattr(self, "_landed", None)
        if landed is None:
            return operator_lineage()
        base_url, course_id, report_type, uri, size = landed
        return operator_lineage(
            inputs=[canvas_report_dataset(base_url, course_id, report_type)],
            outputs=[file_dataset(uri, size)],
        )
