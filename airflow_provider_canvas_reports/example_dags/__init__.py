"""
Example DAGs, shipped with the package: point a DAGs folder (or a symlink in it) at this folder,
or copy a file. ``python -m airflow_provider_canvas_reports.demo`` runs them against the bundled
Canvas emulator.
"""
