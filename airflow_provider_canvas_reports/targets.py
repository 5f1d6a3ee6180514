"""
What a Canvas report is addressed by: a course's or an account's report of one type (and, once
started, its id). The one place that knows a report's path, what its parameters may be and how to
name it in a message; the hook, the trigger, the sensors and the operators all use it, so a new
report family is a new target, not a copy of the course code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

from airflow_provider_canvas_reports.client import ids, parameters
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError

API_PREFIX = "/api/v1"

_T = TypeVar("_T", bound="ReportTarget")
#: ``report_id`` not given (a report type, not a run of it); ``None`` given is refused.
_TYPE_ONLY: Any = object()


@dataclass(frozen=True, slots=True)
class ReportTarget:
    """
    A Canvas report of one type in one course or account; with ``report_id``, one run of it.

    Build one with :meth:`of`, which validates every part before anything is sent. The hook takes
    one for every report call (:meth:`~.hooks.canvas.CanvasHook.start_report`, ``get_report``, ...).

    :param context_id: the course or account id, validated (an ``int``, or an alternate form).
    :param report_type: the report type, e.g. ``course_pace_docx`` or ``provisioning_csv``.
    :param report_id: the report's id once started (``None``: the type, not a run of it).
    """

    context_id: int | str
    report_type: str
    report_id: int | None = None

    #: ``course`` or ``account``: the family's name in messages, XCom and serialized triggers.
    family: ClassVar[str] = ""
    #: The Canvas API collection the context lives in (``courses``, ``accounts``).
    collection: ClassVar[str] = ""
    #: Whether Canvas can abort a running report of this family (``PUT .../abort``).
    can_abort: ClassVar[bool] = False

    @classmethod
    def of(cls: type[_T], context_id: object, report_type: object, report_id: object = _TYPE_ONLY) -> _T:
        """
        A validated target (a run of the type when ``report_id`` is given, even as ``None``, which
        is refused); bad input raises :class:`~.exceptions.CanvasInvalidInputError`.
        """
        return cls(
            cls._validate_context(context_id),
            ids.validate_report_type(report_type),
            None if report_id is _TYPE_ONLY else ids.validate_report_id(report_id),
        )

    @staticmethod
    def _validate_context(context_id: object) -> int | str:
        raise NotImplementedError

    @staticmethod
    def _segment(context_id: object) -> str:
        raise NotImplementedError

    def with_id(self: _T, report_id: object) -> _T:
        """This report type's run ``report_id`` (validated)."""
        return replace(self, report_id=ids.validate_report_id(report_id))

    @property
    def context_key(self) -> str:
        """``course_id`` or ``account_id``: the key the context id goes under in XCom."""
        return f"{self.family}_id"

    @property
    def context_path(self) -> str:
        """``/courses/<id>`` (the alternate forms encoded as Canvas's routes take them)."""
        return f"/{self.collection}/{self._segment(self.context_id)}"

    @property
    def path(self) -> str:
        """``/api/v1/<context>/reports/<type>``, plus ``/<id>`` for a run."""
        path = f"{API_PREFIX}{self.context_path}/reports/{self.report_type}"
        return path if self.report_id is None else f"{path}/{self.report_id}"

    @property
    def lineage_name(self) -> str:
        """The report type's OpenLineage dataset name: ``/courses/101/reports/course_pace_docx``."""
        return f"{self.context_path}/reports/{self.report_type}"

    @property
    def where(self) -> str:
        """``course 12``, ``account 1``."""
        return f"{self.family} {self.context_id}"

    def describe(self) -> str:
        """``Canvas provisioning_csv report 42 of account 1`` (without the id before it is known)."""
        run = f" {self.report_id}" if self.report_id is not None else ""
        return f"Canvas {self.report_type} report{run} of {self.where}"

    def check_parameters(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """The parameters as Canvas takes them, or a refusal naming what to fix (before any request)."""
        raise NotImplementedError

    def started_with(self, report: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
        """Whether ``report`` (as Canvas lists it) was started with the checked parameters ``sent``."""
        raise NotImplementedError

    def ids(self) -> dict[str, Any]:
        """``{"course_id": 12, "report_type": ..., "report_id": ...}``, for XCom and asset events."""
        found = {self.context_key: self.context_id, "report_type": self.report_type}
        if self.report_id is not None:
            found["report_id"] = self.report_id
        return found

    def to_dict(self) -> dict[str, Any]:
        """What a serialized trigger carries (:meth:`from_dict` reads it back)."""
        return {"family": self.family, **self.ids()}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ReportTarget:
        """The target :meth:`to_dict` wrote."""
        family = data.get("family")
        cls = _FAMILIES.get(family) if isinstance(family, str) else None
        if cls is None:
            raise CanvasInvalidInputError(f"Unknown Canvas report family {family!r}")
        if data.get("report_id") is None:
            return cls.of(data.get(cls.family + "_id"), data.get("report_type"))
        return cls.of(data.get(cls.family + "_id"), data.get("report_type"), data["report_id"])


@dataclass(frozen=True, slots=True)
class CourseReport(ReportTarget):
    """A course report (``/api/v1/courses/:course_id/reports/:type``): ``course_pace_docx``."""

    family: ClassVar[str] = "course"
    collection: ClassVar[str] = "courses"
    can_abort: ClassVar[bool] = False

    @staticmethod
    def _validate_context(context_id: object) -> int | str:
        return ids.validate_course_id(context_id)

    @staticmethod
    def _segment(context_id: object) -> str:
        return ids.course_id_path_segment(context_id)

    def check_parameters(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        return parameters.course_report_parameters(self.report_type, given)

    def started_with(self, report: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
        return parameters.same_course_selection(report, sent)


@dataclass(frozen=True, slots=True)
class AccountReport(ReportTarget):
    """An account report (``/api/v1/accounts/:account_id/reports/:type``): ``provisioning_csv``, ..."""

    family: ClassVar[str] = "account"
    collection: ClassVar[str] = "accounts"
    can_abort: ClassVar[bool] = True

    @staticmethod
    def _validate_context(context_id: object) -> int | str:
        return ids.validate_account_id(context_id)

    @staticmethod
    def _segment(context_id: object) -> str:
        return ids.account_id_path_segment(context_id)

    def check_parameters(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        return parameters.account_report_parameters(self.report_type, given)

    def started_with(self, report: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
        return parameters.same_account_parameters(report, sent)


_FAMILIES: dict[str, type[ReportTarget]] = {cls.family: cls for cls in (CourseReport, AccountReport)}
