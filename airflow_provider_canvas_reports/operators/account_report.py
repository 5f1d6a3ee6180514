"""Operators that start a Canvas account report, land its file (CSV, or ZIP of CSVs) and load it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.exceptions import (
    CanvasError,
    CanvasInvalidInputError,
    CanvasWarehouseError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.operators.report import DownloadReportOperator, StartReportOperator
from airflow_provider_canvas_reports.sql_load import DEFAULT_BATCH_SIZE, WAREHOUSE_CONN_ID
from airflow_provider_canvas_reports.targets import AccountReport

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too

    from airflow_provider_canvas_reports.account_csv import AccountReportFile, CsvPart, PartInfo


class StartAccountReportOperator(StartReportOperator):
    """
    Start a Canvas account report (``provisioning_csv``, ``grade_export_csv``, ...) and return its
    id, or, with ``wait_for_completion``, its finished metadata.

    Starts exactly once, reattaches on retries and waits in each mode as described in
    :class:`~.operators.report.StartReportOperator`. The parameters are checked before any request:
    flags are sent as Canvas reads them, ``skip_message`` defaults to true (no e-mail per run), and
    a ``provisioning_csv``/``sis_export_csv`` without any true part fails at once. A type the
    account does not offer fails with the list of those it does. A wait that times out, a task
    killed while it waits, or an ``execution_timeout`` aborts the report (a queued one is deleted),
    so it does not hold the account's one report queue. A failed report's error carries Canvas's
    reason.

    .. seealso:: :doc:`/howto/account-reports`

    :param account_id: the Canvas account id, ``self``, or ``sis_account_id:X``. (templated)
    :param report_type: the report type, e.g. ``provisioning_csv``. (templated)
    :param parameters: the report's parameters, e.g. ``{"users": True, "enrollment_term_id": 12}``.
        (templated)
    :param wait_for_completion: wait until the report is complete and return its metadata.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks while waiting.
    :param timeout: seconds to wait for completion before failing and aborting (``None``: no limit).
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param reattach_running_report: also on the first try, reuse a running report with the same
        parameters instead of starting another (retries always do).
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    """

    template_fields: Sequence[str] = ("account_id", "report_type", "parameters", "canvas_conn_id")
    ui_color = "#f6e4d4"

    def __init__(
        self,
        *,
        account_id: int | str | XComArg,
        report_type: str | XComArg,
        parameters: dict[str, Any] | XComArg | None = None,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(parameters=rendered(parameters), canvas_conn_id=rendered(canvas_conn_id), **kwargs)
        self.account_id = rendered(account_id)
        self.report_type = rendered(report_type)

    def target(self) -> AccountReport:
        return AccountReport.of(self.account_id, self.report_type)


class DownloadAccountReportOperator(DownloadReportOperator):
    """
    Download a complete Canvas account report's file (one ``.csv``, or a ``.zip`` with one CSV per
    part) to a local path or object storage, atomically (see
    :class:`~.operators.report.DownloadReportOperator`).

    .. seealso:: :doc:`/howto/account-reports` and :doc:`/howto/assets-and-lineage`

    :param account_id: the Canvas account id, ``self``, or ``sis_account_id:X``. (templated)
    :param report_type: the report type, e.g. ``provisioning_csv``. (templated)
    :param report_id: the report, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param destination: a local path or an ObjectStoragePath URI; one ending in ``/`` is a folder,
        and the attachment's name is used. (templated)
    :param overwrite: replace an existing file atomically (default); ``False`` fails the task if
        the file exists, before anything is downloaded.
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook`.
    :return: ``{"uri", "filename", "size", "sha256", "content_type", "report_id", "account_id",
        "report_type"}``; ``ObjectStoragePath(uri)`` reopens the file.
    """

    template_fields: Sequence[str] = (
        "account_id",
        "report_type",
        "report_id",
        "destination",
        "canvas_conn_id",
    )

    def __init__(
        self,
        *,
        account_id: int | str | XComArg,
        report_type: str | XComArg,
        report_id: int | str | XComArg,
        destination: str | XComArg,
        overwrite: bool = True,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            destination=rendered(destination),
            canvas_conn_id=rendered(canvas_conn_id),
            overwrite=overwrite,
            **kwargs,
        )
        self.account_id = rendered(account_id)
        self.report_type = rendered(report_type)
        self.report_id = rendered(report_id)

    def target(self) -> AccountReport:
        return AccountReport.of(self.account_id, self.report_type, self.report_id)


class AccountReportToSqlOperator(BaseOperator):
    """
    Load a landed account report (one ``.csv``, or a ``.zip`` of CSVs) into SQL tables, one table
    per CSV, as text.

    Each table has the CSV's columns, named by the header in snake_case (``student name`` →
    ``student_name``; a repeated name gets a suffix, ``score_2``), and three of the loader's own:
    ``_account_id``, ``_report_id`` and ``_logical_date`` (led by ``_`` so they never meet a
    Canvas column such as ``courses.csv``'s ``account_id``). A missing table is created; a column
    the header has and the table lacks is added (Canvas adds columns as account features are
    turned on); a column the file lacks stays NULL. Values are stored as the file has them: text,
    an empty field as an empty string.

    Idempotent: the rows of this account and logical date are deleted from each table and the
    file's inserted, all tables in one transaction, so a re-run replaces exactly that slice and a
    failure (a bad row, a database error, a killed task) leaves every table as it was. On
    PostgreSQL rows stream through ``COPY ... FROM STDIN``; on any other common-sql database
    through ``executemany`` in batches. The file is read in blocks, never whole, and ZIP members
    one at a time without extracting them: memory stays flat in the size of the report.

    Every block is checked before it is written; a bad file fails the task at once, naming the
    file, the member and the line: bytes that are not UTF-8 (a UTF-8 byte order mark is fine), a
    row with more or fewer fields than the header, broken quoting, a truncated ZIP. A header-only
    CSV is valid: its slice becomes empty. A ZIP member that is not a ``.csv`` is skipped and
    logged.

    .. seealso:: the "Loading account reports into a warehouse" how-to in the documentation.

    :param uri: the landed file (a local path, ``file://`` or any ObjectStoragePath URI), or what
        :class:`DownloadAccountReportOperator` returns (``download.output``: its ``uri``,
        ``account_id``, ``report_type`` and ``report_id`` are used). (templated)
    :param conn_id: the SQL connection (any common-sql ``DbApiHook``); when it is not defined,
        the task fails at once with the ``airflow connections add`` line that defines it. (templated)
    :param tables: table names by part: a ZIP member's name (``{"users.csv": "my_users"}``, or its
        stem, ``users``), or, for a report of one CSV, its report type. Default:
        ``canvas_<report type without _csv>`` for one CSV (``canvas_grade_export``) and
        ``canvas_<report type without _csv>_<member>`` for a ZIP's CSVs
        (``canvas_provisioning_users``); ``table`` or ``schema.table``. (templated)
    :param account_id: the account the report belongs to, stored on every row; default: the
        download's. (templated)
    :param report_type: the report type, which names the default tables; default: the
        download's. (templated)
    :param report_id: the report the file came from, stored on every row; default: the
        download's. (templated)
    :param logical_date: the slice key stored on every row; default: the run's logical date (or,
        for a run without one, when it ran after) in ISO 8601. (templated)
    :param copy: on PostgreSQL, stream rows with ``COPY ... FROM STDIN`` (``False``: ``executemany``,
        for servers that refuse ``COPY``).
    :param batch_size: rows per ``executemany``.
    :return: ``{"tables": {table: rows loaded}, "rows": total, "skipped": [members not read]}``:
        counts, never rows.
    :raises CanvasReportFileError: the file cannot be read as the report's CSVs (nothing changed).
    :raises CanvasWarehouseConnectionError: ``conn_id`` is not defined, or has no hook.
    :raises CanvasWarehouseError: the database failed the load (nothing changed; retryable).
    """

    template_fields: Sequence[str] = (
        "uri",
        "conn_id",
        "tables",
        "account_id",
        "report_type",
        "report_id",
        "logical_date",
    )
    ui_color = "#e6f2e6"

    def __init__(
        self,
        *,
        uri: str | Mapping[str, Any] | XComArg,
        conn_id: str | XComArg = WAREHOUSE_CONN_ID,
        tables: Mapping[str, str] | XComArg | None = None,
        account_id: int | str | XComArg | None = None,
        report_type: str | XComArg | None = None,
        report_id: int | str | XComArg | None = None,
        logical_date: str | XComArg | None = None,
        copy: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(tables, Mapping):
            _checked_tables(tables, when_defined=True)
        elif (
            tables is not None
            and not _is_xcom_arg(tables)
            and not (isinstance(tables, str) and "{{" in tables)
        ):
            raise CanvasInvalidInputError(f"tables must be a mapping of part to table name, not {tables!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise CanvasInvalidInputError(
                f"batch_size must be a whole number of at least 1, not {batch_size!r}"
            )
        self.uri = rendered(uri)
        self.conn_id = rendered(conn_id)
        self.tables = rendered(tables)
        self.account_id = rendered(account_id)
        self.report_type = rendered(report_type)
        self.report_id = rendered(report_id)
        self.logical_date = rendered(logical_date)
        self.copy = copy
        self.batch_size = batch_size
        self._written: list[str] = []

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_canvas_reports.account_csv import AccountReportFile
        from airflow_provider_canvas_reports.sql_load import (
            checked_uri,
            logical_date_of,
            open_landed,
            unpack_download,
            warehouse_hook,
        )

        uri, landed = unpack_download(self.uri)
        self.uri = uri
        for name in ("account_id", "report_type", "report_id"):
            if getattr(self, name) is None:
                setattr(self, name, landed.get(name))
        uri = checked_uri(uri)
        target = AccountReport.of(self.account_id, self.report_type or "report", self.report_id)
        tables = _checked_tables(self.tables or {}, when_defined=False)
        logical_date = logical_date_of(context, self.logical_date)
        key = _SliceKey(str(target.context_id), int(target.report_id or 0), logical_date)

        hook = warehouse_hook(self.conn_id)
        with open_landed(uri) as stream, AccountReportFile(stream) as report:
            for skipped in report.skipped:
                self.log.warning("Skipping %s!%s: not a CSV", uri, skipped)
            plan = _plan(report, tables, self.report_type)
            self.log.info(
                "Loading %s for account %s, logical date %s: %s",
                uri,
                key.account_id,
                logical_date,
                ", ".join(f"{part.name} → {table}" for part, table in plan),
            )
            counts = self._load(hook, report, plan, key)
        self._written = [table for _, table in plan]
        for table, rows in counts.items():
            self.log.info(
                "Loaded %d rows into %s (replacing this account and date's earlier rows)", rows, table
            )
        return {"tables": counts, "rows": sum(counts.values()), "skipped": list(report.skipped)}

    def _load(
        self, hook: DbApiHook, report: AccountReportFile, plan: list[tuple[PartInfo, str]], key: _SliceKey
    ) -> dict[str, int]:
        """Create and widen the tables, then replace the slice in each: all in one transaction."""
        from airflow_provider_canvas_reports.sql_load import column_names, paused_gc, transaction

        headers = {}
        for part, _ in plan:
            with report.open(part) as csv_part:
                headers[part.name] = column_names(csv_part.header)
        counts: dict[str, int] = {}
        try:
            with paused_gc(), transaction(hook) as cursor:
                # Tables first, so a database whose DDL commits by itself (MySQL) commits no rows.
                for part, table in plan:
                    self._prepare_table(cursor, table, headers[part.name])
                for part, table in plan:
                    with report.open(part) as csv_part:
                        counts[table] = self._replace_slice(
                            hook, cursor, csv_part, table, headers[part.name], key
                        )
        except CanvasError as exc:
            raise type(exc)(f"{exc}; no table was changed") from exc
        except Exception as exc:
            raise CanvasWarehouseError(
                f"loading {report.name} into {', '.join(t for _, t in plan)} failed, no table was changed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return counts

    def _prepare_table(self, cursor: Any, table: str, columns: list[str]) -> None:
        from airflow_provider_canvas_reports.sql_load import create_table_sql, table_columns

        cursor.execute(create_table_sql(table, [*SLICE_COLUMNS, *((name, "TEXT") for name in columns)]))
        present = set(table_columns(cursor, table))
        for name in columns:
            if name not in present:
                self.log.info("Adding column %s to %s (new in this report)", name, table)
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN {name} TEXT")

    def _replace_slice(
        self, hook: DbApiHook, cursor: Any, part: CsvPart, table: str, columns: list[str], key: _SliceKey
    ) -> int:
        from airflow_provider_canvas_reports.sql_load import copies_csv, copy_csv, csv_fields, insert_rows

        mark = hook.placeholder
        cursor.execute(
            f"DELETE FROM {table} WHERE _account_id = {mark} AND _logical_date = {mark}",
            (key.account_id, key.logical_date),
        )
        names = [name for name, _ in SLICE_COLUMNS] + columns
        lead = [key.account_id, key.report_id, key.logical_date]
        if self.copy and copies_csv(hook, cursor):
            self.log.info("Loading %s into %s through COPY", part.label, table)
            return copy_csv(cursor, table, names, columns, part.csv_blocks(csv_fields(lead)))
        self.log.info(
            "Loading %s into %s through executemany, %d rows a batch", part.label, table, self.batch_size
        )
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        return insert_rows(cursor, sql, lead, part.row_batches(self.batch_size))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        OpenLineage: the landed file in; each table written out, named as common-sql's operators
        name them. Reads the connection's settings only: no query, no file read.
        """
        from airflow_provider_canvas_reports import lineage
        from airflow_provider_canvas_reports.sql_load import unpack_download

        uri, _ = unpack_download(self.uri)  # execute took it already
        tables = self._written or list((self.tables or {}).values())
        return lineage.file_to_tables(str(uri), self.conn_id, tables)


#: The loader's own columns, first in every table it creates: which slice a row belongs to.
SLICE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_account_id", "VARCHAR(255) NOT NULL"),
    ("_report_id", "BIGINT NOT NULL"),
    ("_logical_date", "VARCHAR(40) NOT NULL"),
)


@dataclass(frozen=True)
class _SliceKey:
    account_id: str
    report_id: int
    logical_date: str


def _is_xcom_arg(value: object) -> bool:
    return hasattr(value, "resolve") and hasattr(value, "operator")


def _checked_tables(tables: object, *, when_defined: bool) -> dict[str, str]:
    """``tables`` as a ``{part: table}`` dict of valid names (a templated name waits until rendered)."""
    from airflow_provider_canvas_reports.sql_load import validated_table

    if not isinstance(tables, Mapping):
        raise CanvasInvalidInputError(f"tables must be a mapping of part to table name, not {tables!r}")
    checked: dict[str, str] = {}
    for part, table in tables.items():
        if not isinstance(part, str) or not part.strip():
            raise CanvasInvalidInputError(f"tables: a part must be a member or report name, not {part!r}")
        if when_defined and isinstance(table, str) and "{{" in table:
            checked[part] = table
            continue
        checked[part] = validated_table(table, f"tables[{part!r}]")
    return checked


def _plan(
    report: AccountReportFile, tables: dict[str, str], report_type: object
) -> list[tuple[PartInfo, str]]:
    """Each CSV of the report with the table it goes to; every name checked before anything is written."""
    from airflow_provider_canvas_reports.sql_load import identifier, validated_table

    plan: list[tuple[PartInfo, str]] = []
    used: set[str] = set()
    for part in report.parts:
        keys = [part.name, part.stem] + ([] if report.is_zip else [str(report_type)])
        key = next((k for k in keys if k in tables), None)
        if key is not None:
            used.add(key)
            plan.append((part, tables[key]))
            continue
        if not isinstance(report_type, str) or not report_type:
            raise CanvasInvalidInputError(
                f"report_type is needed to name the table of {part.label}: pass report_type, or tables"
            )
        stem = identifier(report_type.removesuffix("_csv"), "report")
        name = f"canvas_{stem}_{identifier(part.stem, 'part')}" if report.is_zip else f"canvas_{stem}"
        plan.append((part, validated_table(name, f"the table of {part.label}")))
    unknown = sorted(set(tables) - used)
    if unknown:
        found = ", ".join(part.name for part in report.parts)
        raise CanvasInvalidInputError(
            f"tables names {', '.join(map(repr, unknown))}, not in {report.name} ({found})"
        )
    seen: dict[str, str] = {}
    for part, table in plan:
        if table.lower() in seen:
            raise CanvasInvalidInputError(
                f"{seen[table.lower()]} and {part.name} would both load into {table}: name a table for each"
            )
        seen[table.lower()] = part.name
    return plan
