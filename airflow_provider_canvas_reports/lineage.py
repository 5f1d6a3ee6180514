"""
OpenLineage datasets for what the operators read and write, named per the OpenLineage naming spec.

- A Canvas report type: namespace ``https://<canvas host>``, name
  ``/courses/<course id>/reports/<report type>`` (``/accounts/<account id>/...`` for an account's).
- A landed file: ``file`` + its absolute path; ``s3://<bucket>`` + its key; ``gs://<bucket>`` + its
  key; ``abfss://<container>@<account>.dfs.core.windows.net`` + its blob (Azure Blob / ADLS Gen2);
  any other ObjectStoragePath ``<scheme>://<authority>`` + its path (a ``conn_id@`` is dropped).
- A table written through common-sql: the hook's own OpenLineage naming (``postgres://host:port`` +
  ``database.schema.table``, ...), as common-sql's operators emit it.

Every import of OpenLineage happens inside a function, through
``airflow.providers.common.compat.openlineage``; without the openlineage provider,
:func:`operator_lineage` returns ``None`` and nothing else here is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_canvas_reports.destinations import local_path_of

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.targets import ReportTarget

_BUCKET_SCHEMES = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs"}
_AZURE_SCHEMES = {"abfss", "abfs", "wasbs", "wasb"}


def canvas_report_name(base_url: str, target: ReportTarget) -> tuple[str, str]:
    """``(namespace, name)`` of a Canvas report type: ``https://host``, ``/courses/101/reports/<type>``."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}", target.lineage_name


def file_name(uri: str) -> tuple[str, str]:
    """``(namespace, name)`` of a file given by a local path or an ObjectStoragePath URI."""
    local = local_path_of(uri)
    if local is not None:
        return "file", local
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in _AZURE_SCHEMES and parts.netloc.endswith(".core.windows.net"):
        return f"{scheme}://{parts.netloc}", unquote(parts.path).lstrip("/") or "/"
    authority = parts.netloc.rpartition("@")[2]  # ObjectStoragePath's s3://conn_id@bucket/key
    if scheme in _BUCKET_SCHEMES:
        return f"{_BUCKET_SCHEMES[scheme]}://{authority}", unquote(parts.path).lstrip("/") or "/"
    return f"{scheme}://{authority}", unquote(parts.path) or "/"


def dataset(namespace: str, name: str) -> Any:
    """An OpenLineage ``Dataset`` (``None`` without the OpenLineage client)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=namespace, name=name)


def canvas_report_dataset(base_url: str, target: ReportTarget) -> Any:
    """The Canvas report type (a course's or an account's) as an OpenLineage dataset."""
    return dataset(*canvas_report_name(base_url, target))


def file_dataset(uri: str, size: int | None = None) -> Any:
    """
    A landed file as an OpenLineage dataset; with ``size``, an output dataset carrying the
    ``outputStatistics`` facet (bytes, one file).
    """
    namespace, name = file_name(uri)
    if size is None:
        return dataset(namespace, name)
    from airflow.providers.common.compat.openlineage.facet import (
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
    )

    return OutputDataset(
        namespace=namespace,
        name=name,
        outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(size=size, fileCount=1)},
    )


def table_datasets(hook: Any, tables: Iterable[str]) -> list[Any]:
    """
    Tables written through a common-sql ``DbApiHook``, named as common-sql's operators name them:
    the hook's ``get_openlineage_database_info`` gives the namespace and database, its default
    schema fills in a bare table name. A hook without OpenLineage support (SQLite) gets
    ``<conn type>://<host>[:port]`` and the name as given.

    No query runs: this reads the connection only.
    """
    from airflow.providers.openlineage.sqlparser import SQLParser, from_table_meta
    from openlineage.common.sql import DbTableMeta

    connection = hook.get_connection(hook.get_conn_id())
    info = hook.get_openlineage_database_info(connection)
    if info is None:
        authority = connection.host or ""
        if connection.port:
            authority = f"{authority}:{connection.port}"
        namespace = f"{connection.conn_type}://{authority}"
        return [dataset(namespace, table) for table in tables]
    namespace = SQLParser.create_namespace(info)
    schema = hook.get_openlineage_default_schema()
    uppercase = bool(getattr(info, "is_uppercase_names", False))
    datasets = []
    for table in tables:
        meta = DbTableMeta(table if "." in table or not schema else f"{schema}.{table}")
        datasets.append(from_table_meta(meta, info.database, namespace, uppercase))
    return datasets


def available() -> bool:
    """Whether the openlineage provider is installed (lineage methods return ``None`` without it)."""
    from importlib.util import find_spec

    try:
        return find_spec("airflow.providers.openlineage") is not None
    except ImportError:
        return False


def file_to_tables(uri: str, conn_id: str, tables: Sequence[str]) -> Any:
    """
    A load's lineage: the landed file in, the tables it wrote out (named as common-sql's operators
    name them); ``None`` without the openlineage provider. Reads the connection only.
    """
    if not available():
        return None
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    hook = DbApiHook.get_hook(conn_id)
    return operator_lineage(inputs=[file_dataset(uri)], outputs=table_datasets(hook, tables))


def operator_lineage(inputs: Sequence[Any] = (), outputs: Sequence[Any] = ()) -> Any:
    """An ``OperatorLineage``, or ``None`` when the openlineage provider is not installed."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    return OperatorLineage(inputs=list(inputs), outputs=list(outputs))
