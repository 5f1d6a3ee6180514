"""Load a landed course pace report into SQL tables through any common-sql connection."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.course_pace import MAX_DOCUMENT_BYTES
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError, CanvasReportFileError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too

    from airflow_provider_canvas_reports.course_pace import CoursePace

#: ``table`` or ``schema.table``, plain SQL identifiers (no quoting needed anywhere).
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")

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


def validated_table(name: object, what: str) -> str:
    """``name`` if it is a plain ``table`` or ``schema.table`` identifier, else a clear ``ValueError``."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise CanvasInvalidInputError(
            f"{what} must be a plain SQL identifier (letters, digits, _; or schema.table), not {name!r}"
        )
    return name


def create_table_sql(table: str, columns: Sequence[tuple[str, str]]) -> str:
    """Portable DDL (SQLite, PostgreSQL, MySQL, DuckDB, Snowflake ...) that creates ``table`` if missing."""
    body = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


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
    :param conn_id: the SQL connection (any common-sql ``DbApiHook``). (templated)
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
        conn_id: str | XComArg,
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
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        try:
            items_table = validated_table(self.items_table, "items_table")
            plan_table = validated_table(self.plan_table, "plan_table")
            if items_table.lower() == plan_table.lower():
                raise CanvasInvalidInputError(
                    f"items_table and plan_table must differ, both are {items_table!r}"
                )
            self._take_download_result()
            course_id, report_id = self._ids()
            uri = self.uri
            if not isinstance(uri, str) or not uri.strip():
                raise CanvasInvalidInputError(f"uri must be the landed file's path or URI, not {uri!r}")
        except ValueError as exc:
            raise CanvasInvalidInputError(str(exc)) from exc
        logical_date = self._logical_date(context)

        hook = DbApiHook.get_hook(self.conn_id)
        if self.create_tables:
            hook.run(create_table_sql(items_table, ITEM_COLUMNS))
            hook.run(create_table_sql(plan_table, PLAN_COLUMNS))
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
            with _opened(uri) as source:
                counts = self._replace_slice(hook, source, items_table, plan_table, key)
        except ValueError as exc:  # an unreadable report: no retry can fix the file
            raise CanvasReportFileError(
                f"{exc}; the rows of {items_table}/{plan_table} are unchanged"
            ) from exc
        self.log.info("Loaded %d documents, %d items (replacing earlier rows of this slice)", *counts)
        return {
            "documents": counts[0],
            "items": counts[1],
            "items_table": items_table,
            "plan_table": plan_table,
        }

    # ------------------------------------------------------------------------------- internals
    def _take_download_result(self) -> None:
        """Use a download's result (``{"uri", "course_id", "report_id", ...}``) given as ``uri``."""
        if not isinstance(self.uri, Mapping):
            return
        landed = self.uri
        if self.course_id is None:
            self.course_id = landed.get("course_id")
        if self.report_id is None:
            self.report_id = landed.get("report_id")
        self.uri = landed.get("uri")  # type: ignore[assignment]

    def _ids(self) -> tuple[str, int]:
        course_id = str(self.course_id).strip() if isinstance(self.course_id, int | str) else ""
        if not course_id or isinstance(self.course_id, bool):
            raise CanvasInvalidInputError(f"course_id must be a Canvas course id, not {self.course_id!r}")
        try:
            report_id = int(str(self.report_id))
        except ValueError:
            raise CanvasInvalidInputError(
                f"report_id must be a whole number, not {self.report_id!r}"
            ) from None
        if report_id < 1:
            raise CanvasInvalidInputError(f"report_id must be positive, not {report_id}")
        return course_id, report_id

    def _logical_date(self, context: Context) -> str:
        if self.logical_date:
            return str(self.logical_date)
        when = context.get("logical_date")
        if when is None:  # Airflow 3: manual and asset-triggered runs may have none
            dag_run = context.get("dag_run")
            when = getattr(dag_run, "run_after", None)
        if when is None:
            raise CanvasInvalidInputError("this run has no logical date: pass logical_date")
        return when.isoformat()

    def _replace_slice(
        self, hook: DbApiHook, source: Any, items_table: str, plan_table: str, key: dict[str, Any]
    ) -> tuple[int, int]:
        """Delete this course and date's rows and insert the report's, in one transaction."""
        from airflow_provider_canvas_reports.course_pace import iter_course_paces

        mark = hook.placeholder
        where = f"course_id = {mark} AND logical_date = {mark}"
        insert_items = _insert_sql(items_table, ITEM_COLUMNS, mark)
        insert_plans = _insert_sql(plan_table, PLAN_COLUMNS, mark)
        documents = items = 0
        conn = hook.get_conn()
        try:
            if hook.supports_autocommit:
                hook.set_autocommit(conn, False)
            cursor = conn.cursor()
            try:
                for table in (items_table, plan_table):
                    cursor.execute(
                        f"DELETE FROM {table} WHERE {where}", (key["course_id"], key["logical_date"])
                    )
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
            finally:
                cursor.close()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
        return documents, items

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the landed file in; the items and plan tables out, named as common-sql's
        operators name them. Reads the connection's settings only: no query, no file read.
        """
        from airflow_provider_canvas_reports import lineage

        if not lineage.available():
            return None
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        uri = self.uri.get("uri") if isinstance(self.uri, Mapping) else self.uri  # execute took it already
        hook = DbApiHook.get_hook(self.conn_id)
        return lineage.operator_lineage(
            inputs=[lineage.file_dataset(str(uri))],
            outputs=lineage.table_datasets(hook, [self.items_table, self.plan_table]),
        )


@contextmanager
def _opened(uri: str) -> Iterator[Any]:
    """A binary file object over the landed file (local, or through ObjectStoragePath)."""
    from airflow_provider_canvas_reports.destinations import local_path_of

    path = local_path_of(uri)
    if path is not None:
        with open(path, "rb") as handle:
            yield handle
        return
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    with ObjectStoragePath(uri).open("rb") as handle:
        yield handle


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
