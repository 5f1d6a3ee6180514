"""Load a landed course pace report into SQL tables through any common-sql connection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.course_pace import MAX_DOCUMENT_BYTES
from airflow_provider_canvas_reports.exceptions import (
    CanvasError,
    CanvasInvalidInputError,
    CanvasReportFileError,
    CanvasWarehouseError,
)
from airflow_provider_canvas_reports.sql_load import (
    WAREHOUSE_CONN_ID,
    create_table_sql,
    validated_table,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too

    from airflow_provider_canvas_reports.course_pace import CoursePace

#: Columns of the items table, in insert order (one row per paced item).
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("course_id", "VARCHAR(255) NOT NULL"),
    ("report_id", "BIGINT NOT NULL"),
    ("logical_date", "VARCHAR(40) NOT NULL"),
    ("source_name", "VARCHAR(1024) NOT NULL"),
    ("context_type", "VARCHAR(16) NOT NULL"),
    ("context_name", "VARCHAR(1024) NOT NULL"),
    ("module_position", "INTEGER NOT NULL"),
    ("module", "VARCHAR(1024) NOT NULL"),
    ("item_position", "INTEGER NOT NULL"),
    ("title", "VARCHAR(1024) NOT NULL"),
    ("points", "DOUBLE PRECISION"),
    ("duration_days", "INTEGER NOT NULL"),
    ("due_date", "DATE NOT NULL"),
    ("published", "BOOLEAN NOT NULL"),
)

#: Columns of the plan table, in insert order (one row per document: a section's or student's pace).
PLAN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("course_id", "VARCHAR(255) NOT NULL"),
    ("report_id", "BIGINT NOT NULL"),
    ("logical_date", "VARCHAR(40) NOT NULL"),
    ("source_name", "VARCHAR(1024) NOT NULL"),
    ("course_name", "VARCHAR(1024) NOT NULL"),
    ("context_type", "VARCHAR(16) NOT NULL"),
    ("context_name", "VARCHAR(1024) NOT NULL"),
    ("students", "INTEGER"),
    ("on_pace", "BOOLEAN"),
    ("start_date", "DATE NOT NULL"),
    ("end_date", "DATE NOT NULL"),
    ("item_count", "INTEGER NOT NULL"),
    ("blackout_dates", "TEXT NOT NULL"),
    ("skipped_days", "VARCHAR(255) NOT NULL"),
)


class CoursePaceToSqlOperator(BaseOperator):
    """
    Load a landed course pace report (``.docx`` or ``course_pace.zip``) into two SQL tables.

    Rows go through a common-sql connection (``DbApiHook.get_hook(conn_id)``: SQLite, PostgreSQL,
    MySQL, Snowflake, ...): one row per paced item in ``items_table`` and one row per document (a
    section's or a student's pace: course, context, dates, item count, blackout dates as JSON,
    skipped days joined by ``/``) in ``plan_table``. Every row carries the course id, the report id
    and the run's logical date. Missing tables are created with portable DDL.

    Idempotent: the rows of this course and logical date are deleted and the new ones inserted in
    one transaction, so a re-run replaces that slice and a failure (an unreadable document, a
    database error) leaves the previous slice as it was. Documents are read one at a time and rows
    inserted in batches, so memory stays flat in the number of documents.

    .. seealso:: :doc:`/howto/course-pace`

    :param uri: the landed file (a local path, ``file://`` or any ObjectStoragePath URI), or what
        :class:`~.course_report.DownloadCourseReportOperator` returns (``download.output``: its
        ``uri``, ``course_id`` and ``report_id`` are used). (templated)
    :param course_id: the course the report belongs to, stored on every row; default: the
        download's. (templated)
    :param report_id: the report the file came from, stored on every row; default: the
        download's. (templated)
    :param conn_id: the SQL connection (any common-sql ``DbApiHook``); when it is not defined,
        the task fails at once with the ``airflow connections add`` line that defines it. (templated)
    :param items_table: table of paced items, ``table`` or ``schema.table``. (templated)
    :param plan_table: table of pace documents, ``table`` or ``schema.table``. (templated)
    :param logical_date: the slice key stored on every row; default: the run's logical date (or, for
        a run without one, when it ran after) in ISO 8601. (templated)
    :param create_tables: create missing tables before loading.
    :param batch_size: rows per ``executemany``.
    :param max_document_bytes: refuse a document larger than this
        (:data:`airflow_provider_canvas_reports.course_pace.MAX_DOCUMENT_BYTES`).
    :return: ``{"documents": n, "items": n, "items_table": ..., "plan_table": ...}``: counts, never rows.
    :raises CanvasInvalidInputError: a table name that is not a plain identifier, or a missing or
        bad course id, report id or logical date (before the database is touched).
    :raises CanvasReportFileError: the file is not a course pace report; the previous rows stay.
    """

    template_fields: Sequence[str] = (
        "uri",
        "course_id",
        "report_id",
        "conn_id",
        "items_table",
        "plan_table",
        "logical_date",
    )
    ui_color = "#e6f2e6"

    def __init__(
        self,
        *,
        uri: str | Mapping[str, Any] | XComArg,
        conn_id: str | XComArg = WAREHOUSE_CONN_ID,
        course_id: int | str | XComArg | None = None,
        report_id: int | str | XComArg | None = None,
        items_table: str | XComArg = "canvas_course_pace_items",
        plan_table: str | XComArg = "canvas_course_paces",
        logical_date: str | XComArg | None = None,
        create_tables: bool = True,
        batch_size: int = 1000,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for value, what in ((items_table, "items_table"), (plan_table, "plan_table")):
            if isinstance(value, str) and "{{" not in value:
                validated_table(value, what)
        if batch_size < 1:
            raise CanvasInvalidInputError(f"batch_size must be at least 1, not {batch_size!r}")
        self.uri = rendered(uri)
        self.course_id = rendered(course_id)
        self.report_id = rendered(report_id)
        self.conn_id = rendered(conn_id)
        self.items_table = rendered(items_table)
        self.plan_table = rendered(plan_table)
        self.logical_date = rendered(logical_date)
        self.create_tables = create_tables
        self.batch_size = batch_size
        self.max_document_bytes = max_document_bytes

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_canvas_reports.sql_load import (
            checked_uri,
            logical_date_of,
            open_landed,
            unpack_download,
            warehouse_hook,
        )

        try:
            items_table = validated_table(self.items_table, "items_table")
            plan_table = validated_table(self.plan_table, "plan_table")
            if items_table.lower() == plan_table.lower():
                raise CanvasInvalidInputError(
                    f"items_table and plan_table must differ, both are {items_table!r}"
                )
            uri, landed = unpack_download(self.uri)
            self.uri = uri
            if self.course_id is None:
                self.course_id = landed.get("course_id")
            if self.report_id is None:
                self.report_id = landed.get("report_id")
            course_id, report_id = self._ids()
            uri = checked_uri(uri)
        except ValueError as exc:
            raise CanvasInvalidInputError(str(exc)) from exc
        logical_date = logical_date_of(context, self.logical_date)

        hook = warehouse_hook(self.conn_id)
        key = {"course_id": course_id, "report_id": report_id, "logical_date": logical_date}
        self.log.info(
            "Loading %s into %s and %s for course %s, logical date %s",
            uri,
            items_table,
            plan_table,
            course_id,
            logical_date,
        )
        try:
            with open_landed(uri) as source:
                counts = self._replace_slice(hook, source, items_table, plan_table, key)
        except ValueError as exc:  # an unreadable report: no retry can fix the file
            raise CanvasReportFileError(
                f"{exc}; the rows of {items_table}/{plan_table} are unchanged"
            ) from exc
        except CanvasError:
            raise
        except Exception as exc:
            raise CanvasWarehouseError(
                f"loading {uri} into {items_table}/{plan_table} failed, their rows are unchanged: {exc}"
            ) from exc
        self.log.info("Loaded %d documents, %d items (replacing earlier rows of this slice)", *counts)
        return {
            "documents": counts[0],
            "items": counts[1],
            "items_table": items_table,
            "plan_table": plan_table,
        }

    # ------------------------------------------------------------------------------- internals
    def _ids(self) -> tuple[str, int]:
        from airflow_provider_canvas_reports.sql_load import report_id_of

        course_id = str(self.course_id).strip() if isinstance(self.course_id, int | str) else ""
        if not course_id or isinstance(self.course_id, bool):
            raise CanvasInvalidInputError(f"course_id must be a Canvas course id, not {self.course_id!r}")
        return course_id, report_id_of(self.report_id)

    def _replace_slice(
        self, hook: DbApiHook, source: Any, items_table: str, plan_table: str, key: dict[str, Any]
    ) -> tuple[int, int]:
        """Delete this course and date's rows and insert the report's, in one transaction."""
        from airflow_provider_canvas_reports.course_pace import iter_course_paces
        from airflow_provider_canvas_reports.sql_load import transaction

        mark = hook.placeholder
        where = f"course_id = {mark} AND logical_date = {mark}"
        insert_items = _insert_sql(items_table, ITEM_COLUMNS, mark)
        insert_plans = _insert_sql(plan_table, PLAN_COLUMNS, mark)
        documents = items = 0
        with transaction(hook) as cursor:
            if self.create_tables:
                cursor.execute(create_table_sql(items_table, ITEM_COLUMNS))
                cursor.execute(create_table_sql(plan_table, PLAN_COLUMNS))
            for table in (items_table, plan_table):
                cursor.execute(f"DELETE FROM {table} WHERE {where}", (key["course_id"], key["logical_date"]))
            item_batch: list[tuple[Any, ...]] = []
            plan_batch: list[tuple[Any, ...]] = []
            for pace in iter_course_paces(source, max_document_bytes=self.max_document_bytes):
                documents += 1
                items += len(pace.items)
                plan_batch.append(_plan_row(key, pace))
                item_batch.extend(_item_rows(key, pace))
                if len(item_batch) >= self.batch_size:
                    cursor.executemany(insert_items, item_batch)
                    item_batch.clear()
                if len(plan_batch) >= self.batch_size:
                    cursor.executemany(insert_plans, plan_batch)
                    plan_batch.clear()
            if item_batch:
                cursor.executemany(insert_items, item_batch)
            if plan_batch:
                cursor.executemany(insert_plans, plan_batch)
        return documents, items

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the landed file in; the items and plan tables out, named as common-sql's
        operators name them. Reads the connection's settings only: no query, no file read.
        """
        from airflow_provider_canvas_reports import lineage
        from airflow_provider_canvas_reports.sql_load import unpack_download

        uri, _ = unpack_download(self.uri)  # execute took it already
        return lineage.file_to_tables(str(uri), self.conn_id, [self.items_table, self.plan_table])


def _insert_sql(table: str, columns: Sequence[tuple[str, str]], mark: str) -> str:
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"


def _item_rows(key: dict[str, Any], pace: CoursePace) -> Iterator[tuple[Any, ...]]:
    for item in pace.items:
        yield (
            key["course_id"],
            key["report_id"],
            key["logical_date"],
            pace.source_name,
            pace.context_type,
            pace.context_name,
            item.module_position,
            item.module,
            item.position,
            item.title,
            item.points,
            item.duration_days,
            item.due_date.isoformat(),
            item.published,
        )


def _plan_row(key: dict[str, Any], pace: CoursePace) -> tuple[Any, ...]:
    blackouts = [
        {"title": b.title, "start": b.start.isoformat(), "end": b.end.isoformat()}
        for b in pace.blackout_dates
    ]
    return (
        key["course_id"],
        key["report_id"],
        key["logical_date"],
        pace.source_name,
        pace.course_name,
        pace.context_type,
        pace.context_name,
        pace.students,
        pace.on_pace,
        pace.start_date.isoformat(),
        pace.end_date.isoformat(),
        len(pace.items),
        json.dumps(blackouts, ensure_ascii=False),
        "/".join(pace.skipped_days),
    )
