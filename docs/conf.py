"""Sphinx configuration for the airflow-provider-canvas-reports documentation (``make docs``)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]

# The API reference imports the package, and so Airflow: give it a private home, not ~/airflow.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="canvas-docs-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airflow_provider_canvas_reports import __version__  # noqa: E402

project = "airflow-provider-canvas-reports"
author = "airflow-provider-canvas-reports contributors"
copyright = "the airflow-provider-canvas-reports contributors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "canvas_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "README.md"]

# MyST: ::: fences, definition lists, and anchors for headings so pages can link to sections.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The API reference: the :param: docstrings, with the types from the signatures.
autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True

# No network here or in CI: nothing reaches out (no intersphinx); links inside the site are
# checked after the build (docs/check_links.py).
html_theme = "furo"
html_title = f"Canvas reports for Airflow {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
pygments_style = "default"
