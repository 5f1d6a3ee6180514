"""Course pace plans: what the emulator's course pace documents say, per course.

A :class:`CoursePlan` names the course, its modules and items (points, durations, due dates,
published state), blackout dates, skipped weekdays, and the sections and students that exist.
Due dates left as ``None`` are scheduled as Canvas does: each item is due ``duration_days``
working days after the previous one, counting from the start date, where skipped weekdays and
blackout dates are not working days. For example::

    plan = CoursePlan(
        course_name="Biology 101",
        start_date=date(2025, 1, 13),
        modules=(PlannedModule("Week 1", (PlannedItem("Lab 1", points=10, duration_days=2),)),),
        sections=(PlannedSection(1, "Period 1", students=24),),
    )
    emulator.set_course_plan(7, plan)

Without a plan, a course gets :func:`default_plan`: four modules, twelve items, a spring break.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any

#: Item kinds and how the document shows their points: assignments, quizzes and graded
#: discussions ``N Points``; pages ``View``; anything else keeps the template's ``[x] Points``.
ITEM_KINDS = frozenset({"assignment", "quiz", "discussion", "page", "other"})
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class PlannedItem:
    """A module item in a pace.

    :param title: the item's title.
    :param kind: one of :data:`ITEM_KINDS`.
    :param points: points possible (assignments, quizzes, discussions).
    :param duration_days: working days after the previous item's due date.
    :param due_date: fixed due date; None schedules it from the durations.
    :param published: whether the item is published.
    """

    title: str
    kind: str = "assignment"
    points: float | None = 10.0
    duration_days: int = 1
    due_date: date | None = None
    published: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ITEM_KINDS:
            raise ValueError(f"kind must be one of {sorted(ITEM_KINDS)}, not {self.kind!r}")
        if self.duration_days < 0:
            raise ValueError("duration_days must not be negative")

    @property
    def points_text(self) -> str:
        """``10 Points``, ``1 Point``, ``View`` (pages) or ``[x] Points`` (no points shown)."""
        if self.kind == "page":
            return "View"
        if self.kind == "other" or self.points is None:
            return "[x] Points"
        number = int(self.points) if float(self.points).is_integer() else self.points
        return f"{number} {'Point' if self.points == 1 else 'Points'}"

    @property
    def expected_points(self) -> float | None:
        """The points a reader should find: None for pages and ``[x] Points``."""
        return None if self.kind in ("page", "other") else self.points


@dataclass(frozen=True)
class PlannedModule:
    """A module and its paced items (possibly none)."""

    name: str
    items: tuple[PlannedItem, ...] = ()


@dataclass(frozen=True)
class PlannedBlackout:
    """A blackout period (inclusive)."""

    title: str
    start: date
    end: date


@dataclass(frozen=True)
class PlannedSection:
    """A course section: its id (``section_ids``), name and number of students."""

    id: int
    name: str
    students: int = 25


@dataclass(frozen=True)
class PlannedStudent:
    """A student enrollment: its id (``enrollment_ids``), the student's name and pace status."""

    id: int
    name: str
    on_pace: bool = True


@dataclass(frozen=True)
class ScheduledItem:
    """An item with its module's position and its own, and its resolved due date."""

    module: str
    module_position: int
    position: int
    item: PlannedItem
    due_date: date


@dataclass(frozen=True)
class CoursePlan:
    """What a course's pace documents hold.

    :param course_name: the course's name (first paragraph).
    :param start_date: the pace's start date.
    :param modules: modules in order.
    :param blackout_dates: blackout periods.
    :param skipped_days: skipped weekdays (``Mon`` .. ``Sun``), shown joined by ``/``.
    :param end_date: the pace's end date; None: the last due date (or the start date).
    :param sections: the sections that exist; None: any requested id, named ``Section <id>``.
    :param students: the student enrollments that exist; None: any requested id, ``Student <id>``.
    :param points_in_title_paragraph: write ``Title 10 Points`` in one paragraph instead of two.
    :param column_titles: write a column-title row under each module's name.
    """

    course_name: str
    start_date: date
    modules: tuple[PlannedModule, ...]
    blackout_dates: tuple[PlannedBlackout, ...] = ()
    skipped_days: tuple[str, ...] = ("Sat", "Sun")
    end_date: date | None = None
    sections: tuple[PlannedSection, ...] | None = None
    students: tuple[PlannedStudent, ...] | None = None
    points_in_title_paragraph: bool = False
    column_titles: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.skipped_days) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"skipped_days must be among {WEEKDAYS}, not {sorted(unknown)}")
        if set(self.skipped_days) == set(WEEKDAYS):
            raise ValueError("a pace cannot skip every weekday")

    # ------------------------------------------------------------------------------ schedule
    def is_working_day(self, day: date) -> bool:
        """Neither a skipped weekday nor inside a blackout period."""
        if WEEKDAYS[day.weekday()] in self.skipped_days:
            return False
        return not any(b.start <= day <= b.end for b in self.blackout_dates)

    def schedule(self) -> list[ScheduledItem]:
        """Every item with its due date, in module and item order."""
        scheduled: list[ScheduledItem] = []
        day = self.start_date
        for module_position, module in enumerate(self.modules, start=1):
            for position, item in enumerate(module.items, start=1):
                if item.due_date is not None:
                    day = item.due_date
                else:
                    for _ in range(item.duration_days):
                        day += timedelta(days=1)
                        while not self.is_working_day(day):
                            day += timedelta(days=1)
                scheduled.append(ScheduledItem(module.name, module_position, position, item, day))
        return scheduled

    @property
    def resolved_end_date(self) -> date:
        """The end date: as given, else the last due date, else the start date."""
        if self.end_date is not None:
            return self.end_date
        scheduled = self.schedule()
        return scheduled[-1].due_date if scheduled else self.start_date

    # ------------------------------------------------------------------------------ contexts
    def section(self, section_id: int) -> PlannedSection | None:
        """The section with this id, or None if the course has none such."""
        if self.sections is None:
            return PlannedSection(section_id, f"Section {section_id}", students=20 + section_id % 15)
        return next((s for s in self.sections if s.id == section_id), None)

    def student(self, enrollment_id: int) -> PlannedStudent | None:
        """The student enrollment with this id, or None if the course has none such."""
        if self.students is None:
            return PlannedStudent(enrollment_id, f"Student {enrollment_id}", on_pace=enrollment_id % 3 != 0)
        return next((s for s in self.students if s.id == enrollment_id), None)

    # ---------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings); :meth:`from_dict` reads it back."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoursePlan:
        """Build a plan from :meth:`to_dict`'s form, rejecting unknown keys."""
        values = _known(cls, data)
        values["start_date"] = _date(values["start_date"])
        if values.get("end_date") is not None:
            values["end_date"] = _date(values["end_date"])
        values["modules"] = tuple(
            PlannedModule(
                str(module["name"]),
                tuple(_item(item) for item in module.get("items", ())),
            )
            for module in values.get("modules", ())
        )
        values["blackout_dates"] = tuple(
            PlannedBlackout(str(b["title"]), _date(b["start"]), _date(b["end"]))
            for b in values.get("blackout_dates", ())
        )
        values["skipped_days"] = tuple(values.get("skipped_days", ("Sat", "Sun")))
        if values.get("sections") is not None:
            values["sections"] = tuple(
                PlannedSection(**_known(PlannedSection, x)) for x in values["sections"]
            )
        if values.get("students") is not None:
            values["students"] = tuple(
                PlannedStudent(**_known(PlannedStudent, x)) for x in values["students"]
            )
        return cls(**values)


def default_plan(course_id: int) -> CoursePlan:
    """A plan that looks like a real course: four modules, twelve items, a spring break."""
    modules = (
        PlannedModule(
            "Getting Started",
            (
                PlannedItem("Welcome to the Course", kind="page", points=None, duration_days=0),
                PlannedItem("Syllabus Quiz", kind="quiz", points=5, duration_days=2),
                PlannedItem("Introduce Yourself", kind="discussion", points=1, duration_days=1),
            ),
        ),
        PlannedModule(
            "Unit 1: Cells",
            (
                PlannedItem("Reading: The Cell", kind="page", points=None, duration_days=2),
                PlannedItem("Lab 1: Microscopy", points=20, duration_days=3),
                PlannedItem("Quiz 1", kind="quiz", points=10, duration_days=2),
            ),
        ),
        PlannedModule(
            "Unit 2: Genetics",
            (
                PlannedItem("Reading: Mendel's Peas", kind="page", points=None, duration_days=2),
                PlannedItem("Lab 2: Punnett Squares", points=20, duration_days=3),
                PlannedItem("Office Hours Sign-up", kind="other", points=None, duration_days=1),
                PlannedItem("Quiz 2", kind="quiz", points=10, duration_days=2, published=False),
            ),
        ),
        PlannedModule(
            "Final Project",
            (
                PlannedItem("Project Proposal", points=15, duration_days=5),
                PlannedItem("Final Project", points=100, duration_days=10, published=False),
            ),
        ),
    )
    return CoursePlan(
        course_name=f"Introduction to Biology ({course_id})",
        start_date=date(2025, 1, 13),
        modules=modules,
        blackout_dates=(PlannedBlackout("Spring Break", date(2025, 2, 17), date(2025, 2, 21)),),
    )


def _item(data: dict[str, Any]) -> PlannedItem:
    values = _known(PlannedItem, data)
    if values.get("due_date") is not None:
        values["due_date"] = _date(values["due_date"])
    return PlannedItem(**values)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return dict(data)


__all__ = [
    "ITEM_KINDS",
    "CoursePlan",
    "PlannedBlackout",
    "PlannedItem",
    "PlannedModule",
    "PlannedSection",
    "PlannedStudent",
    "ScheduledItem",
    "default_plan",
]
