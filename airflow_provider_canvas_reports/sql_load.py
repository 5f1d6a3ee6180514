"""
What the loaders share: the warehouse connection, table and column names, one transaction per
load, and the fastest way each database takes rows.

Both :class:`~.operators.course_pace.CoursePaceToSqlOperator` and
:class:`~.operators.account_report.AccountReportToSqlOperator` write through a common-sql
connection (``DbApiHook.get_hook``): SQLite, PostgreSQL, MySQL, Snowflake, ... A load replaces
a slice of rows (one course's or account's rows of one logical date) inside one transaction:
the slice's rows are deleted and the new ones inserted, and anything going wrong rolls all of it
back. On PostgreSQL, account report CSVs go through ``COPY ... FROM STDIN`` (psycopg 3's
``cursor.copy`` or psycopg2's ``copy_expert``); everywhere else rows go through ``executemany``
in batches.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import re
import unicodedata
from collections.abc import Mapping
from contextlib import contextmanager, suppress
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_canvas_reports.exceptions import (
    CanvasInvalidInputError,
    CanvasWarehouseConnectionError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.common.sql.hooks.sql import DbApiHook

#: The connection both loaders write to unless told otherwise.
WAREHOUSE_CONN_ID = "canvas_warehouse"

#: Rows per ``executemany`` where a database has no bulk path the loaders use (SQLite, MySQL,
#: Snowflake, ...). Measured by ``make bench`` (section 7): past a few thousand rows a batch, the
#: time per row stops falling on SQLite and PostgreSQL, while a batch's memory keeps growing.
DEFAULT_BATCH_SIZE = 5000

#: ``table`` or ``schema.table``, plain SQL identifiers (no quoting needed anywhere).
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")

#: Words reserved in PostgreSQL, SQLite, MySQL or Snowflake that a CSV header could snake_case
#: to: such a column gets a trailing ``_`` so it needs no quoting anywhere.
_RESERVED = frozenset(
    """
    all alter analyse analyze and any array as asc asymmetric between binary both by case cast check
    collate column constraint create cross current current_date current_role current_time
    current_timestamp current_user default deferrable delete desc distinct do drop else end except
    exists false fetch for foreign from full grant group having ilike in index initially inner
    insert intersect into is isnull join key lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer over overlaps placing
    primary range references regexp returning right row rows select session_user similar some
    symmetric table tablesample then to trailing trigger true union unique update user using values
    verbose when where window with
    """.split()
)


# ------------------------------------------------------------------------------------- names
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


def identifier(text: str, fallback: str) -> str:
    """
    ``text`` as a lower snake_case SQL identifier that needs no quoting: ``student name`` →
    ``student_name``, ``content-type`` → ``content_type``, ``lastAccessAt`` → ``last_access_at``,
    ``Zoë`` → ``zoe``; a reserved word gets a trailing ``_`` (``group`` → ``group_``), a leading
    digit a ``column_`` prefix, and nothing left at all gives ``fallback``. At most 63 characters;
    never starts with ``_`` (loaders' own columns do).
    """
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not name:
        name = fallback
    elif name[0].isdigit():
        name = f"column_{name}"
    if name in _RESERVED:
        name += "_"
    return name[:63]


def column_names(header: Sequence[str]) -> list[str]:
    """
    A CSV header as SQL column names (see :func:`identifier`), in order; a name already taken
    gets a suffix (``score``, ``score_2``, ...), so every column keeps its own name.
    """
    names: list[str] = []
    taken: set[str] = set()
    for position, title in enumerate(header, start=1):
        base = identifier(title, f"column_{position}")
        name, suffix = base, 2
        while name in taken:
            name = f"{base[: 63 - len(str(suffix)) - 1]}_{suffix}"
            suffix += 1
        taken.add(name)
        names.append(name)
    return names


# -------------------------------------------------------------------------------- connection
def warehouse_hook(conn_id: str) -> DbApiHook:
    """
    The common-sql hook of ``conn_id``.

    :raises CanvasWarehouseConnectionError: the connection is not defined (the message holds the
        ``airflow connections add`` line that defines one), or Airflow has no hook for its type
        (the provider is not installed, or was installed after the scheduler and workers started).
    """
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    try:
        return DbApiHook.get_hook(conn_id)
    except Exception as exc:
        if type(exc).__name__ == "AirflowNotFoundException":
            raise CanvasWarehouseConnectionError(missing_connection_help(conn_id)) from None
        if "Unknown hook type" in str(exc):
            raise CanvasWarehouseConnectionError(
                f"Airflow has no hook for the connection {conn_id!r} ({exc}): install the provider of "
                "its type (for PostgreSQL: apache-airflow-providers-postgres), then restart the "
                "scheduler, the workers and the dag-processor"
            ) from exc
        raise


def missing_connection_help(conn_id: str) -> str:
    """What to run when the warehouse connection is not defined (a SQLite file under AIRFLOW_HOME)."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    sqlite_file = os.path.join(home, f"{conn_id}.db")
    return (
        f"The warehouse connection {conn_id!r} is not defined. For a SQLite file on this machine, run: "
        f"airflow connections add {conn_id} --conn-type sqlite --conn-host {sqlite_file} "
        f"(for PostgreSQL: --conn-type postgres --conn-host HOST --conn-port 5432 --conn-login USER "
        "--conn-password PASSWORD --conn-schema DATABASE, with apache-airflow-providers-postgres installed)"
    )


@contextmanager
def transaction(hook: DbApiHook) -> Iterator[Any]:
    """
    A cursor inside one transaction on a new connection: committed when the block ends, rolled
    back when anything escapes it (an error, a task being killed), and the connection closed.
    On SQLite the transaction starts at once, so tables created or altered in the block are part
    of it too (on PostgreSQL they are anyway; MySQL and Snowflake commit DDL by themselves).
    """
    conn = hook.get_conn()
    try:
        if hook.supports_autocommit:
            hook.set_autocommit(conn, False)
        cursor = conn.cursor()
        try:
            if type(conn).__module__.startswith("sqlite3"):
                cursor.execute("BEGIN")
            yield cursor
        finally:
            with suppress(Exception):
                cursor.close()
        conn.commit()
    except BaseException:
        with suppress(Exception):
            conn.rollback()
        raise
    finally:
        with suppress(Exception):
            conn.close()


def table_columns(cursor: Any, table: str) -> list[str]:
    """The columns ``table`` has now (lower case), read from a query that returns no row."""
    cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    names = [str(column[0]).lower() for column in cursor.description or ()]
    cursor.fetchall()
    return names


def copies_csv(hook: DbApiHook, cursor: Any) -> bool:
    """Whether rows can go through PostgreSQL's ``COPY ... FROM STDIN`` on this cursor."""
    return getattr(hook, "conn_type", None) == "postgres" and (
        hasattr(cursor, "copy") or hasattr(cursor, "copy_expert")
    )


def copy_csv(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    text_columns: Sequence[str],
    blocks: Iterable[tuple[bytes, int]],
) -> int:
    """
    Stream CSV ``blocks`` (``(bytes, records)``, records in ``columns`` order) into ``table``
    with ``COPY ... FROM STDIN`` (psycopg 3 or psycopg2); return the number of records. Empty
    fields of ``text_columns`` are empty strings, not NULL.
    """
    sql = (
        f"COPY {table} ({', '.join(columns)}) FROM STDIN "
        f"WITH (FORMAT csv, FORCE_NOT_NULL ({', '.join(text_columns)}))"
    )
    counted = _Counted(blocks)
    if hasattr(cursor, "copy"):  # psycopg 3
        with cursor.copy(sql) as copy:
            for data in counted:
                copy.write(data)
    else:  # psycopg2 pulls from a file object, and reports a failed read as its own error
        reader = _BlockReader(counted)
        try:
            cursor.copy_expert(sql, reader, size=1 << 20)
        except Exception:
            if reader.error is not None:
                raise reader.error from None
            raise
    return counted.records


def insert_rows(cursor: Any, sql: str, lead: list[Any], batches: Iterable[list[list[str]]]) -> int:
    """``executemany`` of ``sql`` for each batch, every row led by the ``lead`` values; the row count."""
    rows = 0
    for batch in batches:
        cursor.executemany(sql, list(map(lead.__add__, batch)))
        rows += len(batch)
    return rows


def csv_fields(values: Sequence[object]) -> bytes:
    """``values`` as the leading fields of a CSV record: ``b'1,"a,b",'`` (quoted where needed)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue().encode() + b","


@contextmanager
def paused_gc() -> Iterator[None]:
    """
    Cyclic garbage collection off for the block (and back as it was after). Loading creates
    millions of lists that form no cycle and are freed by reference counting; the collector would
    only walk them (and every other object of the task) again and again, tripling the CPU time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Counted:
    """The data of ``(bytes, records)`` blocks, counting the records that went by."""

    def __init__(self, blocks: Iterable[tuple[bytes, int]]) -> None:
        self._blocks = iter(blocks)
        self.records = 0

    def __iter__(self) -> Iterator[bytes]:
        for data, records in self._blocks:
            yield data
            self.records += records


class _BlockReader(io.RawIOBase):
    """A readable file over an iterator of byte strings (what psycopg2's ``copy_expert`` reads)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")
        #: What stopped the chunks (a bad file): psycopg2 turns it into a cancelled COPY.
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            try:
                chunk = next(self._chunks, None)
            except BaseException as exc:
                self.error = exc
                raise
            if chunk is None:
                return b""
            self._buffer = memoryview(chunk)
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), memoryview(b"")
        else:
            data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data


# ------------------------------------------------------------------------------ what to load
def unpack_download(value: Any) -> tuple[Any, dict[str, Any]]:
    """
    ``(uri, the rest)`` of what a download task returned (``{"uri": ..., "report_id": ...}``); a
    plain path or URI comes back as it is, with nothing else.
    """
    if isinstance(value, Mapping):
        rest = dict(value)
        return rest.pop("uri", None), rest
    return value, {}


def checked_uri(uri: object) -> str:
    """``uri`` if it names a landed file, else a clear ``ValueError``."""
    if not isinstance(uri, str) or not uri.strip():
        raise CanvasInvalidInputError(f"uri must be the landed file's path or URI, not {uri!r}")
    return uri


def report_id_of(value: object) -> int:
    """A report id as a positive whole number, else a clear ``ValueError``."""
    try:
        report_id = int(str(value))
    except ValueError:
        raise CanvasInvalidInputError(f"report_id must be a whole number, not {value!r}") from None
    if report_id < 1:
        raise CanvasInvalidInputError(f"report_id must be positive, not {report_id}")
    return report_id


def logical_date_of(context: Context, given: object = None) -> str:
    """
    The slice key a load stores on every row: ``given``, or the run's logical date (for an
    Airflow 3 run without one, when it ran after) in ISO 8601.
    """
    if given:
        return str(given)
    when = context.get("logical_date")
    if when is None:  # Airflow 3: manual and asset-triggered runs may have none
        dag_run = context.get("dag_run")
        when = getattr(dag_run, "run_after", None)
    if when is None:
        raise CanvasInvalidInputError("this run has no logical date: pass logical_date")
    return when.isoformat()


@contextmanager
def open_landed(uri: str) -> Iterator[IO[bytes]]:
    """A binary file object over a landed file (local, or through ObjectStoragePath)."""
    from airflow_provider_canvas_reports.destinations import local_path_of

    path = local_path_of(uri)
    if path is not None:
        with open(path, "rb") as handle:
            yield handle
        return
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    with ObjectStoragePath(uri).open("rb") as handle:
        yield handle


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "WAREHOUSE_CONN_ID",
    "checked_uri",
    "column_names",
    "copies_csv",
    "copy_csv",
    "create_table_sql",
    "csv_fields",
    "identifier",
    "insert_rows",
    "logical_date_of",
    "missing_connection_help",
    "open_landed",
    "paused_gc",
    "report_id_of",
    "table_columns",
    "transaction",
    "unpack_download",
    "validated_table",
    "warehouse_hook",
]
