"""Test helpers: the test connection, and running DAGs with ``dag.test()`` on Airflow 2.11 and 3.x."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow.utils.session import create_session

TOKEN = "emulator-token-5f2c9a"


def connection_uri_json(base_url: str, token: str = TOKEN, **extra: object) -> str:
    """The ``AIRFLOW_CONN_*`` JSON form of a canvas connection, with fast retries for tests."""
    extras = {
        "retry_backoff_seconds": 0.01,
        "retry_backoff_max_seconds": 0.05,
        "rate_limit_max_pause_seconds": 0.05,
        **extra,
    }
    return json.dumps({"conn_type": "canvas", "host": base_url, "password": token, "extra": extras})


@dataclass
class RunResult:
    state: str
    run_id: str
    dag_id: str
    task_states: dict[str, str]
    task_tries: dict[str, int]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        try:
            from airflow.models.xcom import XComModel as XComTable
        except ImportError:  # Airflow 2
            from airflow.models.xcom import BaseXCom as XComTable
        with create_session() as session:
            query = XComTable.get_many(run_id=self.run_id, key=key, task_ids=task_id, dag_ids=self.dag_id)
            row = (
                session.scalars(query).first()
                if hasattr(query, "whereclause")
                else query.with_session(session).first()
            )
            if row is None:
                return None
            value = row.value
            if hasattr(XComTable, "deserialize_value"):
                return XComTable.deserialize_value(row)
            return json.loads(value) if isinstance(value, (str, bytes)) else value


def run_dag(dag: Any, **kwargs: Any) -> RunResult:
    """``dag.test()`` and a summary of its task instances."""
    dag_run = dag.test(**kwargs)
    with create_session() as session:
        from airflow.models.taskinstance import TaskInstance

        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dag_run.run_id)
            .all()
        )
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis}
        tries = {ti.task_id: ti.try_number for ti in tis}
    return RunResult(
        str(getattr(dag_run.state, "value", dag_run.state)), dag_run.run_id, dag.dag_id, states, tries
    )
