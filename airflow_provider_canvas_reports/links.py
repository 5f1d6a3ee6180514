"""The "Canvas course" extra link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

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
        return XCom.get_value(key=self.xcom_key, ti_key=ti_key) or ""
