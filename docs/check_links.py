"""
Check every link inside the built site: each relative ``href``/``src`` names a file that was built,
and each ``#fragment`` an id on that page. Links that leave the site (``https://``, ``mailto:``) are
not followed: there is no network here, and none is needed to know the site holds together.

``python docs/check_links.py docs/_build/html`` prints each broken link and exits 1 if any.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif (name == "href" and tag in ("a", "link")) or (name == "src" and tag in ("img", "script")):
                self.links.append(value)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_links(site: Path) -> tuple[list[str], int]:
    """
    Every link in ``site`` that points inside it at nothing, as ``page: link (why)``, and how many
    links were read.
    """
    pages = {path.resolve(): _parse(path) for path in site.rglob("*.html")}
    problems = []
    for path, page in sorted(pages.items()):
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("//"):
                continue  # leaves the site
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(site.resolve())}: {link}"
            if not target.is_relative_to(site.resolve()):
                problems.append(f"{where} (outside the site)")
            elif not target.exists():
                problems.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where} (no such anchor)")
    return problems, sum(len(page.links) for page in pages.values())


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "docs/_build/html")
    if not (site / "index.html").is_file():
        print(f"{site} holds no built site (no index.html)")
        return 1
    problems, count = broken_links(site)
    for problem in problems:
        print(f"broken link: {problem}")
    print(f"{len(problems)} broken of {count} links checked in {site}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
