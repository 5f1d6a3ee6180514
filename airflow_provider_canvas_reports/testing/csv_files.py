"""The CSV files of account reports: Canvas's headers, deterministic rows from a seed and a size.

Every value is a pure function of ``(seed, row)``, so a test can rebuild what a report holds
(:func:`csv_rows`). The rows carry what real exports carry and CSV readers trip over: commas,
quotes and newlines inside quoted fields, non-ASCII names, and empty fields. A file is written on
demand, a block of rows at a time (:func:`build_csv`), so a report of millions of rows is served
over HTTP without ever being held in memory.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing.files import ZIP_CONTENT_TYPE, ReportFile, build_zip
from airflow_provider_canvas_reports.testing.vfile import Blocks, VirtualFile

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

CSV_CONTENT_TYPE = "text/csv"

#: Canvas's headers (gems/plugins/account_reports), the columns every account has.
HEADERS: dict[str, list[str]] = {
    "users": (
        "canvas_user_id,user_id,integration_id,authentication_provider_id,login_id,first_name,last_name,"
        "full_name,sortable_name,short_name,email,status,created_by_sis"
    ).split(","),
    "accounts": (
        "canvas_account_id,account_id,canvas_parent_id,parent_account_id,name,status,created_by_sis"
    ).split(","),
    "terms": "canvas_term_id,term_id,name,status,start_date,end_date,created_by_sis".split(","),
    "courses": (
        "canvas_course_id,course_id,integration_id,short_name,long_name,canvas_account_id,account_id,"
        "canvas_term_id,term_id,status,start_date,end_date,course_format,canvas_blueprint_course_id,"
        "blueprint_course_id,created_by_sis"
    ).split(","),
    "sections": (
        "canvas_section_id,section_id,integration_id,canvas_course_id,course_id,name,status,start_date,"
        "end_date,canvas_account_id,account_id,created_by_sis"
    ).split(","),
    "enrollments": (
        "canvas_course_id,course_id,canvas_user_id,user_id,role,role_id,canvas_section_id,section_id,status,"
        "canvas_associated_user_id,associated_user_id,created_by_sis,base_role_type,limit_section_privileges,"
        "canvas_enrollment_id"
    ).split(","),
    "grade_export_csv": (
        "student name,student id,student sis,course,course id,course sis,section,section id,section sis,term,"
        "term id,term sis,current score,final score,enrollment state,unposted current score,"
        "unposted final score,current grade,final grade,unposted current grade,unposted final grade"
    ).split(","),
    "last_user_access_csv": "user id,user sis id,user name,last access at,last ip".split(","),
}
#: The parts of ``provisioning_csv``/``sis_export_csv`` the emulator writes (others are not offered).
PARTS = ("users", "accounts", "terms", "courses", "sections", "enrollments")

#: Names real exports hold: a comma, quotes, a newline, non-ASCII letters, an apostrophe.
_FIRST = ("Zoë", "José", 'Ana "AJ"', "Øyvind", "Li", "Mary\nKate", "Đặng", "Siobhán", "Kai", "Ngozi")
_LAST = (
    "O'Brien",
    "Núñez",
    "Smith, Jr.",
    "Ærø",
    "Wang",
    "Müller",
    "Thị Mỹ",
    "Ní Bhriain",
    "Tanaka",
    "Okafor",
)
_ROLES = ("StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "StudentEnrollment", "ObserverEnrollment")
_GRADES = ("A", "B+", "C", "", "A-")


def _user(seed: int, row: int) -> tuple[int, str, str]:
    first, last = _FIRST[(seed + row) % len(_FIRST)], _LAST[(seed * 7 + row * 3) % len(_LAST)]
    return 1000 + row, first, last


def _row(part: str, seed: int, row: int, account_id: int) -> list[str]:
    """Row ``row`` of ``part``, in the order of :data:`HEADERS` (a ``|`` separates the cells here)."""
    user_id, first, last = _user(seed, row)
    course, section = 2000 + row % 50, 3000 + row % 120
    sis = "" if row % 4 == 3 else f"SIS-{seed}-{row}"  # some rows have no SIS id
    by_sis = "true" if sis else "false"
    when = f"2026-{1 + row % 12:02d}-{1 + row % 28:02d}T08:00:00-06:00"
    email = f"user{row}@example.edu"
    if part == "users":
        cells = f"{user_id}|{sis}|||{email}|{first}|{last}|{first} {last}|{last}, {first}|{first}|{email}"
        cells += f"|active|{by_sis}"
    elif part == "enrollments":
        role = _ROLES[row % len(_ROLES)]
        cells = f"{course}||{user_id}|{sis}|{role.removesuffix('Enrollment').lower()}|{row % 5 + 1}"
        cells += f"|{section}||active|||{by_sis}|{role}|false|{50_000 + row}"
    elif part == "courses":
        cells = f'{course}|{sis}||C{row}|Course {row}: "{last}", intro|{account_id}||10||active|{when}'
        cells += f"||on_campus|||{by_sis}"
    elif part == "sections":
        cells = f"{section}|{sis}||{course}||Section {row}\n(evening)|active|||{account_id}||{by_sis}"
    elif part == "accounts":
        cells = f"{account_id + row + 1}|{sis}|{account_id}||Sub-account {row}, {last}|active|{by_sis}"
    elif part == "terms":
        cells = f"{10 + row}|{sis}|Term {row} «{first}»|active|{when}||{by_sis}"
    elif part == "grade_export_csv":
        score = f"{(seed + row * 13) % 101}.{row % 10}" if row % 6 else ""
        grade = _GRADES[row % 5]
        cells = f"{last}, {first}|{user_id}|{sis}|Course {row % 50}|{course}||Section {row}|{section}|"
        cells += f"|Fall «2026»|10||{score}|{score}|active|{score}|{score}|{grade}|{grade}||"
    elif part == "last_user_access_csv":
        cells = f"{user_id}|{sis}|{first} {last}|{when if row % 5 else ''}|10.0.{row % 256}.{seed % 256}"
    else:
        raise ValueError(f"no rows for {part!r}")
    return cells.split("|")


def csv_rows(part: str, rows: int, seed: int, account_id: int) -> Iterator[list[str]]:
    """The data rows of a part's CSV, as a CSV reader gives them back (what a loader must store)."""
    for row in range(rows):
        yield _row(part, seed, row, account_id)


#: Rows written per block of a generated CSV: what serving a byte range of it costs at most.
BLOCK_ROWS = 5000


def build_csv(part: str, rows: int, seed: int, account_id: int) -> VirtualFile:
    """
    One CSV (UTF-8, ``\\n`` line ends as Ruby's CSV writes them): the header, then ``rows`` data
    rows. Made on demand, :data:`BLOCK_ROWS` rows at a time: a million rows cost no more memory
    than a hundred.
    """

    def block(index: int) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if index == 0:
            writer.writerow(HEADERS[part])
        first = index * BLOCK_ROWS
        writer.writerows(
            _row(part, seed, row, account_id) for row in range(first, min(rows, first + BLOCK_ROWS))
        )
        return out.getvalue().encode()

    return VirtualFile([Blocks(block, max(1, -(-rows // BLOCK_ROWS)))])


def build_account_report_file(
    report_type: str, parts: list[str], rows: int, seed: int, account_id: int, when: datetime
) -> ReportFile:
    """
    The file an account report attaches: one ``<report type>_<date>.csv``, or, for a report of
    several parts, ``<report type>_<date>.zip`` holding one ``<part>.csv`` each (stored).
    """
    stem = f"{report_type}_{when:%Y-%m-%d}"
    if len(parts) == 1:
        return ReportFile(f"{stem}.csv", CSV_CONTENT_TYPE, build_csv(parts[0], rows, seed, account_id))
    members: list[tuple[str, bytes | VirtualFile]] = [
        (f"{part}.csv", build_csv(part, rows, seed, account_id)) for part in parts
    ]
    return ReportFile(f"{stem}.zip", ZIP_CONTENT_TYPE, build_zip(members, when))
