"""
Every code example in the documentation runs in this suite: a code block in ``docs/`` is either
included (``literalinclude``) from a file the suite runs, or a shell command; the README's Python is
a tested DAG file, verbatim. Checked from the Markdown and reST sources, without building the site.

Files pulled in whole with ``{include}`` (the changelog, the benchmark results) are prose and
tables, not examples: they are not examples' sources and are not scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "airflow_provider_canvas_reports"
TESTS = ROOT / "tests"
#: Languages of a block that holds shell commands (and, for ``console``, what they print).
SHELL = {"shell", "console", "bash", "sh"}
CODE_DIRECTIVES = {"code-block", "code", "sourcecode"}
#: literalinclude options that name text which must be in the included file.
MARKER_OPTIONS = ("start-after", "start-at", "end-before", "end-at")


@dataclass
class Block:
    """One fenced block (or reST directive) of a docs source."""

    source: Path
    line: int
    kind: str  # "fence" (a plain code fence) or "directive"
    name: str  # the fence's language, or the directive's name
    argument: str = ""
    options: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def __str__(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}: {self.kind} {self.name} {self.argument}".strip()


def docs_sources() -> list[Path]:
    skip = (DOCS / "_build", DOCS / "api" / "generated", DOCS / "_ext")
    return sorted(
        path
        for path in DOCS.rglob("*")
        if path.suffix in (".md", ".rst") and not any(path.is_relative_to(s) for s in skip)
    )


def _split_directive_body(text: str) -> tuple[dict[str, str], str]:
    """A MyST directive's ``:option: value`` lines, and the body after them."""
    options, lines = {}, text.splitlines()
    while lines and (match := re.match(r"^:([\w-]+):\s*(.*)$", lines[0])):
        value = match.group(2).strip()
        # MyST reads option values as YAML: a quoted one may hold escapes.
        options[match.group(1)] = str(yaml.safe_load(value)) if value[:1] in "\"'" else value
        lines.pop(0)
    return options, "\n".join(lines)


def _rst_blocks(source: Path, text: str, first_line: int) -> list[Block]:
    """The directives of a reST text (a ``.rst`` page, or an ``{eval-rst}`` block), and ``::`` blocks."""
    blocks = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if match := re.match(r"^\s*\.\. ([\w:-]+)::\s*(.*)$", line):
            options = {}
            for following in lines[number + 1 :]:
                option = re.match(r"^\s+:([\w-]+):\s*(.*)$", following)
                if not option:
                    break
                options[option.group(1)] = option.group(2).strip()
            name, argument = match.group(1), match.group(2).strip()
            blocks.append(Block(source, first_line + number, "directive", name, argument, options))
        elif re.search(r"(^|[^:\s]\s*)::\s*$", line) and not line.lstrip().startswith(".."):
            blocks.append(Block(source, first_line + number, "fence", "", "literal block"))
    return blocks


def _markdown_blocks(source: Path, text: str, first_line: int = 1) -> list[Block]:
    """Every fence of a MyST text, directives' bodies searched too (they may nest code fences)."""
    blocks = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type not in ("fence", "code_block"):
            continue
        line = first_line + (token.map[0] if token.map else 0)
        info = token.info.strip()
        if token.type == "code_block":  # an indented block
            blocks.append(Block(source, line, "fence", "", "indented code"))
            continue
        match = re.match(r"^\{([\w:-]+)\}\s*(.*)$", info)
        if not match:
            blocks.append(Block(source, line, "fence", info.split(" ")[0] if info else ""))
            continue
        options, body = _split_directive_body(token.content)
        block = Block(source, line, "directive", match.group(1), match.group(2).strip(), options, body)
        blocks.append(block)
        if block.name == "eval-rst":
            blocks += _rst_blocks(source, body, line + 1)
        else:
            blocks += _markdown_blocks(source, body, line + 1 + len(options))
    # MyST's ::: fences (colon_fence) are not CommonMark: find the code ones by their first line.
    for number, line in enumerate(text.splitlines()):
        if match := re.match(r"^\s*:{3,}\s*\{([\w:-]+)\}\s*(.*)$", line):
            if match.group(1) in CODE_DIRECTIVES or match.group(1) == "literalinclude":
                blocks.append(Block(source, first_line + number, "directive", match.group(1), match.group(2)))
    return blocks


def all_blocks() -> list[Block]:
    blocks = []
    for source in docs_sources():
        text = source.read_text()
        blocks += _markdown_blocks(source, text) if source.suffix == ".md" else _rst_blocks(source, text, 1)
    return blocks


def suite_runs(path: Path) -> bool:
    """Whether the suite runs ``path``: an example DAG, a test module, or a DAG file a test names."""
    if path.is_relative_to(PACKAGE / "example_dags"):
        return True  # tests/integration/test_example_dags.py parses and runs every one
    if path.is_relative_to(TESTS) and path.name.startswith("test_"):
        return True
    if path.is_relative_to(TESTS / "dags"):
        name = path.stem
        return any(
            re.search(rf"\b{re.escape(name)}\b", test.read_text())
            for test in TESTS.rglob("test_*.py")
            if test.resolve() != Path(__file__).resolve()
        )
    return False


def problems_of(block: Block) -> list[str]:
    if block.kind == "fence":
        if block.name in SHELL:
            return []
        return [f"{block}: a code block that is not a shell command; include it from a file the suite runs"]
    if block.name in CODE_DIRECTIVES:
        language = block.argument.split(" ")[0]
        return [] if language in SHELL else [f"{block}: hand-written {language or 'code'}"]
    if block.name != "literalinclude":
        return []
    included = (block.source.parent / block.argument).resolve()
    if not included.is_file():
        return [f"{block}: includes {block.argument}, which does not exist"]
    problems = [] if suite_runs(included) else [f"{block}: includes a file the suite does not run"]
    text = included.read_text()
    for option in MARKER_OPTIONS:
        if option in block.options and block.options[option] not in text:
            problems.append(f"{block}: {option} {block.options[option]!r} is not in {block.argument}")
    if "pyobject" in block.options:
        name = block.options["pyobject"].split(".")[-1]
        if not re.search(rf"^\s*(async\s+def|def|class)\s+{re.escape(name)}\b", text, re.M):
            problems.append(f"{block}: no {block.options['pyobject']} in {block.argument}")
    return problems


def test_every_code_block_in_the_docs_is_included_from_a_file_the_suite_runs_or_is_shell():
    blocks = all_blocks()
    assert [b for b in blocks if b.name == "literalinclude"], "no example is included: is the parser blind?"
    problems = [problem for block in blocks for problem in problems_of(block)]
    assert problems == []


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("```python\nprint(1)\n```\n", "not a shell command"),
        ("```\nx = 1\n```\n", "not a shell command"),
        ("    indented = True\n", "not a shell command"),
        ("````{note}\n```python\nx = 1\n```\n````\n", "not a shell command"),
        ("```{code-block} python\nx = 1\n```\n", "hand-written python"),
        (":::{code-block} python\nx = 1\n:::\n", "hand-written python"),
        ("```{eval-rst}\n.. code-block:: python\n\n   x = 1\n```\n", "hand-written python"),
        ("```{literalinclude} ../README.md\n```\n", "a file the suite does not run"),
        ("```{literalinclude} nowhere.py\n```\n", "does not exist"),
        (
            "```{literalinclude} ../tests/dags/quickstart.py\n:start-after: no such line\n```\n",
            "'no such line' is not in",
        ),
        (
            "```{literalinclude} ../tests/dags/quickstart.py\n:pyobject: nothing_here\n```\n",
            "no nothing_here",
        ),
    ],
)
def test_the_check_refuses_hand_written_code(markdown, expected):
    blocks = _markdown_blocks(DOCS / "page.md", markdown)
    problems = [problem for block in blocks for problem in problems_of(block)]
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    "markdown",
    [
        "```shell\nmake demo\n```\n",
        "```console\n$ make demo\n==> done\n```\n",
        '```{literalinclude} ../tests/dags/quickstart.py\n:language: python\n:start-at: "with DAG("\n```\n',
        "```{toctree}\n:glob:\nhowto/*\n```\n",
    ],
)
def test_the_check_accepts_shell_and_included_examples(markdown):
    blocks = _markdown_blocks(DOCS / "page.md", markdown)
    assert blocks and [problem for block in blocks for problem in problems_of(block)] == []


def test_every_python_block_in_the_readme_is_a_tested_dag_file_verbatim():
    readme = (ROOT / "README.md").read_text()
    tested = [*(TESTS / "dags").glob("*.py"), *(PACKAGE / "example_dags").glob("*.py")]
    texts = {path.read_text(): path for path in tested if suite_runs(path)}
    fences = [t for t in MarkdownIt("commonmark").parse(readme) if t.type == "fence"]
    python = [t for t in fences if t.info.strip() in ("python", "py")]
    assert python, "the README shows no Python"
    for token in python:
        assert token.content in texts, f"README line {token.map[0] + 1}: not a tested DAG file, verbatim"
    others = {t.info.strip() for t in fences} - {"python", "py"}
    assert others <= SHELL, f"README blocks that are neither tested Python nor shell: {others - SHELL}"
