"""The "Canvas course" extra link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, Context, TaskInstanceKey


class CanvasCourseLink(BaseOperatorLink):
    """Opens the task's course in Canvas's web UI."""

    name = "Canvas course"

    @property
    def xcom_key(self) -> str:
        """Airflow 3's key for a persisted link (``_link_<class>``); Airflow 2.11's base has none."""
        return f"_link_{type(self).__name__}"

    @classmethod
    def persist(cls, context: Context, task: Any, url: str) -> None:
        """Remember the course URL for this try (the UI reads it back from XCom)."""
        task.canvas_course_url = url
        context["ti"].xcom_push(key=cls().xcom_key, value=url)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        url = getattr(operator, "canvas_course_url", None)
        if url:
            return url
        if AIRFLOW_V_3_0_PLUS:
            # Airflow 3 calls this only on the worker, at the end of a try, and stores the answer for
            # the UI. The task either failed before it knew its course (no link), or resumed after
            # deferring with a fresh operator: build the URL again rather than read an XCom that
            # may not exist (a missing XCom is logged as an error).
            return self.course_url(operator) or ""
        return XCom.get_value(key=self.xcom_key, ti_key=ti_key) or ""

    @staticmethod
    def course_url(operator: Any) -> str | None:
        """The course's page in Canvas for ``operator``'s (rendered) course and connection, if valid."""
        from airflow_provider_canvas_reports.client.ids import course_id_path_segment

        try:
            segment = course_id_path_segment(getattr(operator, "course_id", None))
        except ValueError:
            return None
        hook = getattr(operator, "hook", None)
        try:
            base_url = hook.settings.base_url if hook is not None else None
        except Exception:  # no usable connection: the task's own error says so
            return None
        return f"{base_url}/courses/{segment}" if base_url else None
