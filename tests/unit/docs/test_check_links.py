"""docs/check_links.py, which ``make docs`` runs on the built site: it finds each kind of broken link."""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHECKER = Path(__file__).resolve().parents[3] / "docs" / "check_links.py"


def checker():
    spec = importlib.util.spec_from_file_location("check_links", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_links_inside_the_site_are_checked_and_links_out_are_not(tmp_path):
    (tmp_path / "howto").mkdir()
    page = '<h1 id="start">Page</h1><a href="../index.html#top">up</a>'
    (tmp_path / "howto" / "page.html").write_text(page)
    (tmp_path / "index.html").write_text(
        '<div id="top"></div>'
        '<a href="howto/page.html#start">fine</a>'
        '<a href="howto/page.html#nowhere">bad anchor</a>'
        '<a href="howto/missing.html">bad file</a>'
        '<a href="#top">same page</a><a href="#gone">same page, bad</a>'
        '<a href="https://example.org/x.html">out</a><a href="mailto:a@example.org">mail</a>'
        '<a href="../../etc/passwd">outside</a><img src="_static/logo.png">'
    )

    problems, count = checker().broken_links(tmp_path)

    assert count == 10
    assert sorted(problems) == [
        "index.html: #gone (no such anchor)",
        "index.html: ../../etc/passwd (outside the site)",
        "index.html: _static/logo.png (no such file)",
        "index.html: howto/missing.html (no such file)",
        "index.html: howto/page.html#nowhere (no such anchor)",
    ]


def test_a_folder_without_a_built_site_fails(tmp_path, capsys):
    assert checker().main(["check_links.py", str(tmp_path)]) == 1
    assert "no built site" in capsys.readouterr().out
