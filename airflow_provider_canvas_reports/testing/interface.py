"""``ServerState``: everything the emulator's servers may ask of its state, and nothing more.

The request handlers (:mod:`.api`, :mod:`.storage`, :mod:`.downloads`, :mod:`.faults`) see the
state only through this protocol; :class:`.state.EmulatorState` implements it. The servers call
the handlers under the state's lock, so a handler's reads and writes form one step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_canvas_reports.testing.account_reports import AccountReport
    from airflow_provider_canvas_reports.testing.catalog import CatalogCourse
    from airflow_provider_canvas_reports.testing.http import Request
    from airflow_provider_canvas_reports.testing.models import (
        DeveloperKey,
        Fault,
        RecordedRequest,
        ReportBehaviour,
        User,
    )
    from airflow_provider_canvas_reports.testing.reports import Attachment, Report


class ServerState(Protocol):
    """What the API host, the object store and the files domain read and change."""

    # --- where the servers are
    @property
    def storage_url(self) -> str:
        """Origin of the object store (pre-signed URLs point there)."""

    @property
    def base_url(self) -> str:
        """Origin of the API host (pagination links point there)."""

    def file_origin(self, report: Report | AccountReport) -> str:
        """Origin of the report's ``file_url``: the API host or the files domain."""

    # --- every request: records, faults, throttle
    def record(self, server: str, request: Request) -> RecordedRequest | None:
        """Count the request (and its connection) and record it unless recording is off."""

    def take_fault(self, server: str, request: Request) -> Fault | None:
        """The first armed fault matching the request, counted down; None if there is none."""

    @property
    def fault_clears(self) -> int:
        """How many times the faults were cleared: a held request waits until this changes."""

    def next_error_report_id(self) -> int:
        """A fresh ``error_report_id`` for a 500 body."""

    @property
    def request_cost(self) -> float:
        """What each API request costs (``X-Request-Cost``)."""

    def reserve_capacity(self, client: str, now: float) -> bool:
        """Charge the up-front cost to ``client``'s bucket; whether the request may proceed."""

    def settle_capacity(self, client: str, now: float, *, served: bool) -> float:
        """Replace the up-front cost by the real one (none if not served); the remaining capacity."""

    @property
    def request_seconds(self) -> float:
        """Seconds each API request takes to answer (its up-front cost stays in the bucket meanwhile)."""

    # --- users and courses
    def find_user(self, token: str) -> User | None:
        """The user a token was issued to (revoked or not); None for an unknown token."""

    def revocation(self, token: str) -> str | None:
        """Canvas's message for a revoked or expired token; None while the token is good."""

    def resolve_course(self, raw: str) -> int | None:
        """The numeric id a decoded ``:course_id`` segment names; None if no such course."""

    # --- developer keys (OAuth2)
    @property
    def oauth_grant_error(self) -> str:
        """The ``error`` an unknown refresh token gets (``invalid_request`` or ``invalid_grant``)."""

    def developer_key(self, client_id: str) -> DeveloperKey | None:
        """The developer key with this client id, or None."""

    def refresh_grant(self, refresh_token: str) -> tuple[str, User] | None:
        """``(client id, user)`` a refresh token was made for, or None."""

    def issue_access_token(self, client_id: str, user: User, now: float) -> str:
        """A new access token for ``user`` from the key ``client_id`` (counted)."""

    def token_scopes(self, token: str) -> tuple[str, ...] | None:
        """The scopes a token may use; None: any route."""

    # --- the course catalog
    def list_courses(self, account_id: int, query: Mapping[str, list[str]]) -> list[CatalogCourse]:
        """The catalog courses of an account and its sub-accounts that ``query`` keeps, by id."""

    def catalog_course(self, course_id: int) -> CatalogCourse:
        """A course with its sections (one section, 1, for a course the catalog does not hold)."""

    def root_account_of(self, account_id: int) -> int:
        """The root account above ``account_id``."""

    # --- reports and files
    def behaviour_for(self, course_id: int) -> ReportBehaviour:
        """The behaviour reports of ``course_id`` get."""

    def create_report(
        self, course_id: int, report_type: str, parameters: dict[str, list[Any]], user: User
    ) -> Report:
        """Make (and count) a new report."""

    def resolve_account(self, raw: str) -> int | None:
        """The account a decoded ``:account_id`` segment names (``self``: the root), or None."""

    def account_report_types(self, account_id: int) -> tuple[str, ...]:
        """The account report types ``account_id`` offers."""

    def create_account_report(
        self, account_id: int, report_type: str, parameters: dict[str, Any], user: User
    ) -> AccountReport:
        """Make (and count) an account report, queued behind the root account's last one."""

    def account_report_runs(self, account_id: int, report_type: str) -> list[AccountReport]:
        """The account's reports of one type, newest first."""

    def find_report(self, report_id: int) -> Report | AccountReport | None:
        """A report by id."""

    def last_report(self, course_id: int, user_id: int, report_type: str) -> Report | None:
        """The user's most recent report of that type in that course."""

    def materialize(self, report: Report | AccountReport, now: float) -> Attachment | None:
        """The report's attachment, created and stored the first time the report is seen complete."""

    def find_attachment(self, attachment_id: int) -> Attachment | None:
        """An attachment by id (the ``/files/:id/download`` routes)."""

    def find_object(self, key: str) -> Attachment | None:
        """The attachment stored under an object key."""

    def remember_signature(self, signature: str, key: str, expires: float) -> None:
        """Make a pre-signed URL's signature valid for ``key`` until ``expires``."""

    def signed_key(self, signature: str) -> tuple[str, float] | None:
        """``(object key, expiry)`` a signature was issued for; None if it never was."""
