"""
Run one test DAG with ``dag.test()`` in a fresh process and write what happened to ``--result``.

    python -m tests.ol_run <module>:<dag> '<run_conf JSON>' --result <file> --events <file>
    python -m tests.ol_run <module>:<dag> '<run_conf JSON>' --result <file> --without-openlineage

``--events``: OpenLineage on, with its file transport writing one event per line to ``<file>``.
OpenLineage reads its configuration once per process, when Airflow loads its plugins, so the
lineage tests run their DAGs here and not in the pytest process.

``--without-openlineage``: the ``openlineage`` client and ``airflow.providers.openlineage`` cannot
be imported, as if neither were installed; the provider must import and run all the same.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import json
import os
import sys

BLOCKED = ("openlineage", "airflow.providers.openlineage")


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if any(name == blocked or name.startswith(f"{blocked}.") for blocked in BLOCKED):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def _hide_openlineage() -> None:
    """Neither importable nor listed as installed (Airflow finds providers through their metadata)."""
    import importlib.metadata

    import importlib_metadata

    sys.meta_path.insert(0, _NotInstalled())
    for metadata in (importlib.metadata, importlib_metadata):
        listed = metadata.distributions

        def distributions(*args, _listed=listed, **kwargs):
            for dist in _listed(*args, **kwargs):
                if "openlineage" not in (dist.metadata["Name"] or "").lower():
                    yield dist

        metadata.distributions = distributions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag")
    parser.add_argument("run_conf")
    parser.add_argument("--result", required=True)
    parser.add_argument("--events")
    parser.add_argument("--without-openlineage", action="store_true")
    args = parser.parse_args(argv)
    if args.without_openlineage:
        _hide_openlineage()
    if args.events:
        os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": args.events, "append": True}
        )
        os.environ["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "canvas-tests"
    from tests.helpers import run_dag

    module, _, attribute = args.dag.partition(":")
    dag = getattr(importlib.import_module(module), attribute)
    result = run_dag(dag, run_conf=json.loads(args.run_conf))

    from airflow_provider_canvas_reports import lineage

    report = {
        "state": result.state,
        "task_states": result.task_states,
        "xcom": {task_id: result.xcom(task_id) for task_id in result.task_states},
        "openlineage_imported": sorted(m for m in sys.modules if m.startswith(BLOCKED)),
        "operator_lineage": repr(lineage.operator_lineage()),
    }
    with open(args.result, "w") as out:
        json.dump(report, out, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
