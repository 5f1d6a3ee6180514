"""The emulator's Canvas state (courses, users, reports, faults, throttle, records) and its test API.

Every method is thread-safe: the servers run on their own event loop thread while tests call in
from theirs, so all state sits behind one lock held only for short, non-blocking sections.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from airflow_provider_canvas_reports.testing.account_reports import ACCOUNT_REPORT_TYPES, AccountReport
from airflow_provider_canvas_reports.testing.catalog import CatalogCourse, CatalogSection, select_courses
from airflow_provider_canvas_reports.testing.models import (
    DEFAULT_TOKENS,
    READ_REPORTS_ROLES,
    AccessGrant,
    Counters,
    DeveloperKey,
    Fault,
    RecordedRequest,
    ReportBehaviour,
    User,
)
from airflow_provider_canvas_reports.testing.pace_plans import CoursePlan, PlannedSection, default_plan
from airflow_provider_canvas_reports.testing.reports import Attachment, Report
from airflow_provider_canvas_reports.testing.throttle import BucketSettings, LeakyBucketThrottle

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from airflow_provider_canvas_reports.testing.http import Request

ALTERNATE_ID_KINDS = ("sis_course_id", "sis_integration_id", "lti_context_id", "uuid")
DEFAULT_COURSE_IDS = range(1, 1_000_000)
DEFAULT_ACCOUNT_IDS = range(1, 1_000)
#: ``/api/v1/accounts/self`` is the domain's root account.
ROOT_ACCOUNT_ID = 1
#: Forget expired signatures once this many are remembered.
SIGNATURES_BEFORE_CLEANUP = 50_000


class EmulatorState:
    """What the emulated Canvas knows, with two public faces.

    - The test API (setting up users, courses, behaviour and faults; reading records and counters),
      which :class:`~airflow_provider_canvas_reports.testing.CanvasEmulator` inherits.
    - The servers' interface, :class:`~airflow_provider_canvas_reports.testing.interface.ServerState`,
      through which the request handlers read and change the state.

    ``host`` and the ``port``/``storage_port``/``files_port`` attributes (set once the servers are
    bound) give the URLs that reports point at.
    """

    def __init__(
        self, tokens: dict[str, str] | None = None, *, host: str = "127.0.0.1", record_requests: bool = True
    ) -> None:
        self._lock = threading.RLock()
        self.host = host
        self.port = self.storage_port = self.files_port = 0
        self._initial_tokens = dict(tokens if tokens is not None else DEFAULT_TOKENS)
        self.record_requests = record_requests
        self._default_throttle()
        #: What ``/login/oauth2/token`` calls an unknown refresh token: canvas-lms's
        #: ``invalid_request`` or, as other OAuth servers do, ``invalid_grant``.
        self.oauth_grant_error = "invalid_request"
        self.default_behaviour = ReportBehaviour()
        self._fault_clears = 0
        self._reset_all()

    def _default_throttle(self) -> None:
        """Canvas's throttle settings (see :mod:`.throttle`), read on every request."""
        #: The bucket is full at this level: a request that finds it so is refused.
        self.rate_limit_high_water = 600.0
        #: The most the bucket holds.
        self.rate_limit_maximum = 800.0
        #: What each answered request costs (Canvas: its CPU and database seconds).
        self.request_cost = 1.0
        #: Units the bucket loses a second.
        self.leak_rate = 10.0
        #: Units reserved while a request is in flight (Canvas: 50): the cost of concurrency.
        self.up_front_cost = 50.0
        #: Seconds each API request takes to answer (Canvas's server time; 0: at once). While it
        #: runs, its up-front cost stays in the bucket, so concurrent requests fill it.
        self.request_seconds = 0.0

    # ------------------------------------------------------------------------------------ URLs
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the Canvas API host."""
        return f"http://{self.host}:{self.port}"

    @property
    def storage_url(self) -> str:
        """``http://127.0.0.1:PORT2``: the object-storage host."""
        return f"http://{self.host}:{self.storage_port}"

    @property
    def files_url(self) -> str:
        """``http://127.0.0.1:PORT3``: the files domain (``file_url`` with ``file_host="files"``)."""
        return f"http://{self.host}:{self.files_port}"

    def urls(self) -> dict[str, str]:
        """``{"base_url", "storage_url", "files_url"}``."""
        return {"base_url": self.base_url, "storage_url": self.storage_url, "files_url": self.files_url}

    def file_origin(self, report: Report | AccountReport) -> str:
        """The origin the report's ``file_url`` points at."""
        return self.files_url if report.behaviour.file_host == "files" else self.base_url

    # ----------------------------------------------------------------------------------- setup
    def _reset_all(self) -> None:
        with self._lock:
            self._user_ids = itertools.count(101)
            self._users: dict[str, User] = {}
            for token, role in self._initial_tokens.items():
                self._add_user(token, role)
            self._revoked: dict[str, str] = {}
            self._added_courses: set[int] = set()
            self._removed_courses: set[int] = set()
            self._alternate_ids: dict[tuple[str, str], int] = {}
            self._behaviours: dict[int, ReportBehaviour] = {}
            self._plans: dict[int, CoursePlan] = {}
            self._report_ids = itertools.count(1)
            self._attachment_ids = itertools.count(5001)
            self._error_report_ids = itertools.count(1_000_001)
            self._reports: dict[int, Report | AccountReport] = {}
            self._account_tail: AccountReport | None = None
            self._account_types: dict[int, tuple[str, ...]] = {}
            self._account_behaviours: dict[int, ReportBehaviour] = {}
            self._account_sis_ids: dict[str, int] = {}
            self._course_tail: dict[int, Report] = {}
            self._last_reports: dict[tuple[int, int, str], Report] = {}
            self._attachments: dict[int, Attachment] = {}
            self._objects: dict[str, Attachment] = {}
            self._signatures: dict[str, tuple[str, float]] = {}
            self._faults: list[Fault] = []
            self._catalog: dict[int, CatalogCourse] = {}
            self._account_parents: dict[int, int] = {}
            self._developer_keys: dict[str, DeveloperKey] = {}
            self._refresh_tokens: dict[str, tuple[str, User]] = {}
            self._access_tokens: dict[str, AccessGrant] = {}
            self._throttle = LeakyBucketThrottle()
            self._records: list[RecordedRequest] = []
            self._counters = Counters()

    def _add_user(self, token: str, role: str) -> User:
        user_id = next(self._user_ids)
        label = "Teacher" if role in READ_REPORTS_ROLES else role.capitalize()
        user = User(user_id, role, f"Emulator {label} {user_id}")
        self._users[token] = user
        return user

    @property
    def token(self) -> str:
        """The first token whose user may read reports."""
        with self._lock:
            for token, user in self._users.items():
                if user.can_read_reports:
                    return token
        raise LookupError("no token with a role that can read reports")

    def add_token(self, token: str, role: str = "teacher") -> None:
        """Register another token (a new user with ``role``)."""
        with self._lock:
            self._revoked.pop(token, None)
            self._add_user(token, role)

    def revoke(self, token: str) -> None:
        """Make ``token`` answer 401 ``Revoked access token.``."""
        with self._lock:
            self._revoked[token] = "Revoked access token."

    def expire(self, token: str) -> None:
        """Make ``token`` answer 401 ``Expired access token.``."""
        with self._lock:
            self._revoked[token] = "Expired access token."

    def add_course(
        self,
        course_id: int,
        *,
        sis_course_id: str | None = None,
        sis_integration_id: str | None = None,
        lti_context_id: str | None = None,
        uuid: str | None = None,
    ) -> None:
        """Make ``course_id`` exist (even outside 1..999999) and register its alternate ids."""
        alternates = zip(
            ALTERNATE_ID_KINDS, (sis_course_id, sis_integration_id, lti_context_id, uuid), strict=True
        )
        with self._lock:
            self._removed_courses.discard(course_id)
            self._added_courses.add(course_id)
            for kind, value in alternates:
                if value is not None:
                    self._alternate_ids[(kind, str(value))] = course_id

    def remove_course(self, course_id: int) -> None:
        """Make ``course_id`` (and its alternate ids) answer 404."""
        with self._lock:
            self._added_courses.discard(course_id)
            self._removed_courses.add(course_id)
            self._catalog.pop(course_id, None)

    def _course_exists(self, course_id: int) -> bool:
        if course_id in self._removed_courses:
            return False
        return course_id in self._added_courses or course_id in DEFAULT_COURSE_IDS

    def resolve_course(self, raw: str) -> int | None:
        """The numeric id a decoded ``:course_id`` path segment names, or None if no such course."""
        with self._lock:
            if raw.isascii() and raw.isdigit() and len(raw) <= 19:
                course_id: int | None = int(raw)
            else:
                kind, _, value = raw.partition(":")
                if kind == "hex":
                    kind, _, hexed = value.partition(":")
                    try:
                        value = bytes.fromhex(hexed).decode()
                    except ValueError:
                        return None
                    if kind != "sis_course_id":
                        return None
                course_id = self._alternate_ids.get((kind, value))
            return course_id if course_id is not None and self._course_exists(course_id) else None

    # ------------------------------------------------------------------------------- accounts
    def add_account(
        self, account_id: int, *, sis_account_id: str | None = None, parent_account_id: int | None = None
    ) -> None:
        """
        Give account ``account_id`` (accounts 1..999 exist already) an ``sis_account_id``, and make
        it a sub-account of ``parent_account_id`` (every account is under the root account, 1).
        """
        with self._lock:
            if sis_account_id is not None:
                self._account_sis_ids[sis_account_id] = account_id
            if parent_account_id is not None:
                if self._within(parent_account_id, account_id):
                    raise ValueError(f"account {parent_account_id} is under {account_id} already")
                self._account_parents[account_id] = parent_account_id

    def _within(self, account_id: int, ancestor: int) -> bool:
        """Whether ``account_id`` is ``ancestor`` or lies under it (the root holds every account)."""
        seen = set()
        current: int | None = account_id
        while current is not None and current not in seen:
            if current == ancestor:
                return True
            seen.add(current)
            parent = ROOT_ACCOUNT_ID if current != ROOT_ACCOUNT_ID else None
            current = self._account_parents.get(current, parent)
        return False

    def root_account_of(self, account_id: int) -> int:
        """The root account above ``account_id`` (the emulator has one)."""
        return ROOT_ACCOUNT_ID

    # ------------------------------------------------------------------------- course catalog
    def add_catalog_course(
        self,
        course_id: int,
        *,
        name: str | None = None,
        account_id: int = ROOT_ACCOUNT_ID,
        enrollment_term_id: int = 1,
        sis_course_id: str | None = None,
        workflow_state: str = "available",
        students: int = 20,
        section_ids: Iterable[int] | None = None,
    ) -> CatalogCourse:
        """
        Make a course that ``GET /api/v1/accounts/:id/courses`` lists, with its sections
        (``section_ids``; None: one section, ``course_id * 10``; ``[]``: none) and an
        ``sis_course_id`` that reaches it. Its pace reports know exactly these sections.
        """
        sections = [course_id * 10] if section_ids is None else list(section_ids)
        course = CatalogCourse(
            id=course_id,
            name=name or f"Course {course_id}",
            account_id=account_id,
            enrollment_term_id=enrollment_term_id,
            sis_course_id=sis_course_id,
            workflow_state=workflow_state,
            students=students,
            sections=tuple(
                CatalogSection(s, f"Section {s}", f"{sis_course_id}-{s}" if sis_course_id else None)
                for s in sections
            ),
        )
        self.add_course(course_id, sis_course_id=sis_course_id)
        with self._lock:
            self._catalog[course_id] = course
        return course

    def add_term_courses(
        self,
        count: int,
        *,
        first_id: int = 10_001,
        enrollment_term_id: int = 1,
        account_id: int = ROOT_ACCOUNT_ID,
        sections_per_course: int = 1,
    ) -> list[int]:
        """``count`` published courses of one term, ids from ``first_id``, each with its sections."""
        made = []
        for course_id in range(first_id, first_id + count):
            self.add_catalog_course(
                course_id,
                name=f"Term {enrollment_term_id} Course {course_id}",
                account_id=account_id,
                enrollment_term_id=enrollment_term_id,
                sis_course_id=f"T{enrollment_term_id}-C{course_id}",
                section_ids=[course_id * 10 + i for i in range(sections_per_course)],
            )
            made.append(course_id)
        return made

    def list_courses(self, account_id: int, query: Mapping[str, list[str]]) -> list[CatalogCourse]:
        """The catalog courses of ``account_id`` (and its sub-accounts) that ``query`` keeps, by id."""
        with self._lock:
            return select_courses(self._catalog.values(), query, account_id, self._within)

    def catalog_course(self, course_id: int) -> CatalogCourse:
        """A course of the catalog, or (for any other course that exists) one with one section, 1."""
        with self._lock:
            found = self._catalog.get(course_id)
            if found is not None:
                return found
            name = self.course_plan(course_id).course_name
            return CatalogCourse(id=course_id, name=name, sections=(CatalogSection(1, "Section 1"),))

    # ------------------------------------------------------------------------- developer keys
    def add_developer_key(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        role: str = "admin",
        scopes: Iterable[str] | None = None,
        expires_in: int = 3600,
    ) -> None:
        """
        A developer key and a refresh token made for it (a user with ``role``): access tokens from
        ``POST /login/oauth2/token`` live ``expires_in`` seconds, and may call only the routes
        ``scopes`` names (``url:GET|/api/v1/...``; None: any route).
        """
        with self._lock:
            self._developer_keys[client_id] = DeveloperKey(
                client_id, client_secret, None if scopes is None else tuple(scopes), int(expires_in)
            )
            user_id = next(self._user_ids)
            user = User(user_id, role, f"Emulator Integration {user_id}")
            self._refresh_tokens[refresh_token] = (client_id, user)

    def expire_access_tokens(self) -> int:
        """End every access token made from a developer key now; return how many were live."""
        with self._lock:
            now = time.time()
            live = [grant for grant in self._access_tokens.values() if grant.expires_at > now]
            for grant in live:
                grant.expires_at = now
            return len(live)

    def tokens_issued(self, client_id: str | None = None) -> int:
        """Access tokens ``/login/oauth2/token`` made, for one developer key or in total."""
        with self._lock:
            issued = self._counters.tokens_issued
            return sum(issued.values()) if client_id is None else issued.get(client_id, 0)

    @property
    def access_tokens(self) -> list[str]:
        """Every access token ``/login/oauth2/token`` made (a test looks for them where they must not be)."""
        with self._lock:
            return list(self._access_tokens)

    @property
    def throttled_count(self) -> int:
        """Requests the throttle answered 403 (Rate Limit Exceeded) since the counters were reset."""
        with self._lock:
            return self._counters.throttled

    def developer_key(self, client_id: str) -> DeveloperKey | None:
        """The developer key with this client id, or None."""
        with self._lock:
            return self._developer_keys.get(client_id)

    def refresh_grant(self, refresh_token: str) -> tuple[str, User] | None:
        """``(client id, user)`` a refresh token was made for, or None."""
        with self._lock:
            return self._refresh_tokens.get(refresh_token)

    def issue_access_token(self, client_id: str, user: User, now: float) -> str:
        """A new access token for ``user`` from the key ``client_id`` (counted)."""
        with self._lock:
            key = self._developer_keys[client_id]
            token = f"{user.id}~{secrets.token_urlsafe(32)}"
            self._access_tokens[token] = AccessGrant(user, client_id, now + key.expires_in)
            issued = self._counters.tokens_issued
            issued[client_id] = issued.get(client_id, 0) + 1
            return token

    def token_scopes(self, token: str) -> tuple[str, ...] | None:
        """The scopes a token may use; None: any (a personal token, or a key without scopes)."""
        with self._lock:
            grant = self._access_tokens.get(token)
            key = self._developer_keys.get(grant.client_id) if grant is not None else None
            return key.scopes if key is not None else None

    def resolve_account(self, raw: str) -> int | None:
        """The numeric id a decoded ``:account_id`` segment names (``self``: the root), or None."""
        with self._lock:
            if raw == "self":
                return ROOT_ACCOUNT_ID
            if raw.isascii() and raw.isdigit() and len(raw) <= 19:
                account_id: int | None = int(raw)
            else:
                kind, _, value = raw.partition(":")
                account_id = self._account_sis_ids.get(value) if kind == "sis_account_id" else None
            known = account_id in DEFAULT_ACCOUNT_IDS or account_id in self._account_sis_ids.values()
            return account_id if known else None

    def set_account_report_types(self, account_id: int, report_types: list[str] | None) -> None:
        """Which report types ``account_id`` offers (None: :data:`~.account_reports.ACCOUNT_REPORT_TYPES`)."""
        unknown = set(report_types or ()) - set(ACCOUNT_REPORT_TYPES)
        if unknown:
            raise ValueError(f"the emulator has no account report types {sorted(unknown)}")
        with self._lock:
            if report_types is None:
                self._account_types.pop(account_id, None)
            else:
                self._account_types[account_id] = tuple(report_types)

    def account_report_types(self, account_id: int) -> tuple[str, ...]:
        """The report types ``account_id`` offers."""
        with self._lock:
            return self._account_types.get(account_id, tuple(ACCOUNT_REPORT_TYPES))

    def set_account_behaviour(self, account_id: int | None, behaviour: ReportBehaviour) -> None:
        """How account reports of ``account_id`` (None: every account) started from now on behave."""
        with self._lock:
            self._account_behaviours[0 if account_id is None else account_id] = behaviour

    def account_behaviour_for(self, account_id: int) -> ReportBehaviour:
        """The behaviour a new report of ``account_id`` gets."""
        with self._lock:
            found = self._account_behaviours.get(account_id) or self._account_behaviours.get(0)
            return found or self.default_behaviour

    def account_post_count(self, account_id: int | None = None) -> int:
        """POSTs that created an account report, for one account or in total."""
        with self._lock:
            posts = self._counters.account_posts
            return sum(posts.values()) if account_id is None else posts.get(account_id, 0)

    # ------------------------------------------------------------------------------ behaviour
    def set_behaviour(self, course_id: int | None, behaviour: ReportBehaviour) -> None:
        """How reports of ``course_id`` (None: every course without its own) behave from now on."""
        with self._lock:
            if course_id is None:
                self.default_behaviour = behaviour
            else:
                self._behaviours[course_id] = behaviour

    def behaviour_for(self, course_id: int) -> ReportBehaviour:
        """The behaviour a new report of ``course_id`` gets."""
        with self._lock:
            return self._behaviours.get(course_id, self.default_behaviour)

    def set_course_plan(self, course_id: int, plan: CoursePlan | None) -> None:
        """What the pace documents of reports of ``course_id`` started from now on hold (None: default)."""
        with self._lock:
            if plan is None:
                self._plans.pop(course_id, None)
            else:
                self._plans[course_id] = plan

    def course_plan(self, course_id: int) -> CoursePlan:
        """
        The plan a new report of ``course_id`` gets: the one set, else :func:`~.pace_plans.default_plan`
        (named and sectioned as the catalog has the course, if it does).
        """
        with self._lock:
            plan = self._plans.get(course_id)
            if plan is not None:
                return plan
            course = self._catalog.get(course_id)
            if course is None:
                return default_plan(course_id)
            sections = tuple(PlannedSection(s.id, s.name, students=course.students) for s in course.sections)
            return replace(default_plan(course_id), course_name=course.name, sections=sections)

    def finish_report(self, report_id: int, outcome: str = "complete") -> None:
        """End a report (course or account) now (for ``hold=True``): ``complete`` or ``error``."""
        if outcome not in ("complete", "error"):
            raise ValueError(f"outcome must be 'complete' or 'error', not {outcome!r}")
        with self._lock:
            self._reports[report_id].force_finish(outcome, time.time())

    # --------------------------------------------------------------------------------- faults
    def add_fault(self, fault: Fault) -> Fault:
        """Inject ``fault`` (checked in the order added; one fault per request)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault, and let the requests ``hold`` faults hold go on."""
        with self._lock:
            self._faults.clear()
            self._fault_clears += 1

    @property
    def fault_clears(self) -> int:
        """How many times the faults were cleared: a held request waits until this changes."""
        with self._lock:
            return self._fault_clears

    @property
    def faults(self) -> list[Fault]:
        """Copies of the faults still armed."""
        with self._lock:
            return [replace(f) for f in self._faults if f.count != 0]

    def take_fault(self, server: str, request: Request) -> Fault | None:
        """The first armed fault matching the request, counted down; None if there is none.

        ``bad_content_range`` faults match only requests with a ``Range`` header.
        """
        with self._lock:
            if not self._faults:
                return None
            course_id = None
            if any(f.course_id is not None for f in self._faults):
                course_id = self._course_hint(server, request)
            ranged = "range" in request.headers
            for fault in self._faults:
                if fault.kind == "bad_content_range" and not ranged:
                    continue
                if fault.count != 0 and fault.matches(server, request.method, request.path, course_id):
                    if fault.count > 0:
                        fault.count -= 1
                    return replace(fault)
            return None

    def _course_hint(self, server: str, request: Request) -> int | None:
        parts = request.path.split("/")
        if server == "storage":
            attachment = self._objects.get(unquote(request.path.removeprefix("/objects/")))
            return attachment.course_id if attachment else None
        if len(parts) > 4 and parts[1:4] == ["api", "v1", "courses"]:
            return self.resolve_course(unquote(parts[4]))
        if len(parts) > 2 and parts[1] == "files" and parts[2].isdigit():
            found = self._attachments.get(int(parts[2]))
            return found.course_id if found else None
        return None

    # -------------------------------------------------------------------------------- throttle
    def set_rate_limit_remaining(self, token: str, value: float) -> None:
        """Set ``token``'s bucket so that ``X-Rate-Limit-Remaining`` is ``value`` now (then it leaks)."""
        with self._lock:
            self._throttle.set_remaining(f"token:{token}", value, self._bucket_settings(), time.time())

    def set_throttle(self, **settings: float) -> None:
        """
        Change throttle settings by name: ``rate_limit_high_water``, ``rate_limit_maximum``,
        ``request_cost``, ``leak_rate``, ``up_front_cost``, ``request_seconds``.
        """
        names = ("rate_limit_high_water", "rate_limit_maximum", "request_cost", "leak_rate", "up_front_cost")
        unknown = set(settings) - {*names, "request_seconds"}
        if unknown:
            raise ValueError(f"unknown throttle settings {sorted(unknown)}")
        with self._lock:
            for name, value in settings.items():
                if float(value) < 0:
                    raise ValueError(f"{name} must not be negative")
                setattr(self, name, float(value))

    def _bucket_settings(self) -> BucketSettings:
        return BucketSettings(
            self.rate_limit_high_water, self.rate_limit_maximum, self.leak_rate, self.up_front_cost
        )

    # ------------------------------------------------------------------------------- records
    def record(self, server: str, request: Request) -> RecordedRequest | None:
        """Count the request (and its connection) and record it unless ``record_requests`` is off."""
        with self._lock:
            self._counters.requests[server] += 1
            if not request.connection.counted:
                request.connection.counted = True
                self._counters.connections[server] += 1
            if not self.record_requests:
                return None
            record = RecordedRequest(
                server,
                request.method,
                request.path,
                request.query,
                request.headers,
                request.body,
                request.connection_id,
                time.time(),
            )
            self._records.append(record)
            return record

    def next_error_report_id(self) -> int:
        """A fresh ``error_report_id`` for a 500 body."""
        with self._lock:
            return next(self._error_report_ids)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far (control API requests excluded)."""
        with self._lock:
            return list(self._records)

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests received per server (counted even with ``record_requests=False``)."""
        with self._lock:
            return dict(self._counters.requests)

    def post_count(self, course_id: int | None = None) -> int:
        """POSTs that created a report, for one course or in total."""
        with self._lock:
            posts = self._counters.posts
            return sum(posts.values()) if course_id is None else posts.get(course_id, 0)

    @property
    def connections_opened(self) -> dict[str, int]:
        """TCP connections per server (``api``, ``storage``, ``files``), counted at their first request.

        Connections that only carried control-API requests are not counted.
        """
        with self._lock:
            return dict(self._counters.connections)

    @property
    def api_connections(self) -> int:
        """TCP connections accepted by the API server."""
        return self.connections_opened["api"]

    @property
    def storage_connections(self) -> int:
        """TCP connections accepted by the storage server."""
        return self.connections_opened["storage"]

    def reset_records(self) -> None:
        """Forget recorded requests and zero the counters (reports, faults and settings stay)."""
        with self._lock:
            self._records = []
            self._counters = Counters()

    def reset(self) -> None:
        """Back to the state right after construction: no reports, faults, records or overrides."""
        with self._lock:
            self._reset_all()
            self.default_behaviour = ReportBehaviour()
            self._default_throttle()
            self.oauth_grant_error = "invalid_request"

    def stats(self) -> dict[str, Any]:
        """Counters as a JSON-ready dict (also served at ``/__emulator__/stats``)."""
        with self._lock:
            counters = self._counters
            return {
                "post_count": sum(counters.posts.values()),
                "post_counts": {str(k): v for k, v in counters.posts.items()},
                "account_post_counts": {str(k): v for k, v in counters.account_posts.items()},
                "tokens_issued": dict(counters.tokens_issued),
                "throttled": counters.throttled,
                "request_count": sum(counters.requests.values()),
                "requests": dict(counters.requests),
                "connections": dict(counters.connections),
                "reports": len(self._reports),
            }

    # ------------------------------------------------------------------------------- reports
    @property
    def reports(self) -> dict[int, Report | AccountReport]:
        """Every report by id (live objects; read them, do not mutate)."""
        with self._lock:
            return dict(self._reports)

    def report_json(self, report_id: int, base_url: str = "") -> dict[str, Any]:
        """The report as ``GET`` would show it now (without counting as a read)."""
        with self._lock:
            report = self._reports[report_id]
            now = time.time()
            self.materialize(report, now)
            return report.to_json(now, base_url or self.file_origin(report), count_read=False)

    def materialize(self, report: Report | AccountReport, now: float) -> Attachment | None:
        """The report's attachment, created and stored the first time the report is seen complete."""
        with self._lock:
            known = report.attachment is not None
            attachment = report.materialize(now, lambda: next(self._attachment_ids))
            if attachment is not None and not known:
                self._attachments[attachment.id] = attachment
                self._objects[attachment.object_key] = attachment
            return attachment

    def _completed_attachment(self, report_id: int) -> Attachment:
        with self._lock:
            report = self._reports[report_id]
            now = time.time()
            attachment = self.materialize(report, now)
            if attachment is None:
                raise ValueError(f"report {report_id} is {report.status(now)}, not complete")
            return attachment

    def file_bytes(self, report_id: int) -> bytes:
        """The report's file content (for files up to 64 MiB)."""
        return self._completed_attachment(report_id).file.content.read()

    def file_sha256(self, report_id: int) -> str:
        """Hex SHA-256 of the report's file (streams; any size)."""
        return self._completed_attachment(report_id).file.content.sha256()

    def file_size(self, report_id: int) -> int:
        """Exact byte size of the report's file."""
        return self._completed_attachment(report_id).file.content.size

    # ------------------------------------------------------------------ the servers' interface
    def create_report(
        self, course_id: int, report_type: str, parameters: dict[str, list[Any]], user: User
    ) -> Report:
        """Make (and count) a new report, queued behind the course's last one if it runs sequentially."""
        with self._lock:
            behaviour = self.behaviour_for(course_id)
            previous = self._course_tail.get(course_id) if behaviour.sequential else None
            report = Report(
                id=next(self._report_ids),
                course_id=course_id,
                report_type=report_type,
                parameters=parameters,
                user_id=user.id,
                behaviour=behaviour,
                created=time.time(),
                previous=previous,
                plan=self.course_plan(course_id),
            )
            report.schedule()
            self._reports[report.id] = report
            self._course_tail[course_id] = report
            self._last_reports[(course_id, user.id, report_type)] = report
            self._counters.posts[course_id] = self._counters.posts.get(course_id, 0) + 1
            return report

    def create_account_report(
        self, account_id: int, report_type: str, parameters: dict[str, Any], user: User
    ) -> AccountReport:
        """Make (and count) an account report, queued behind the root account's last one."""
        with self._lock:
            behaviour = self.account_behaviour_for(account_id)
            report = AccountReport(
                id=next(self._report_ids),
                account_id=account_id,
                report_type=report_type,
                parameters=parameters,
                user_id=user.id,
                behaviour=behaviour,
                created=time.time(),
                previous=self._account_tail if behaviour.sequential else None,
            )
            self._reports[report.id] = report
            self._account_tail = report
            self._counters.account_posts[account_id] = self._counters.account_posts.get(account_id, 0) + 1
            return report

    def account_report_runs(self, account_id: int, report_type: str) -> list[AccountReport]:
        """The account's reports of one type, newest first."""
        with self._lock:
            return [
                r
                for r in reversed(self._reports.values())
                if isinstance(r, AccountReport)
                and r.account_id == account_id
                and r.report_type == report_type
            ]

    def find_report(self, report_id: int) -> Report | AccountReport | None:
        """A report (course or account) by id."""
        with self._lock:
            return self._reports.get(report_id)

    def last_report(self, course_id: int, user_id: int, report_type: str) -> Report | None:
        """The user's most recent report of that type in that course."""
        with self._lock:
            return self._last_reports.get((course_id, user_id, report_type))

    def find_attachment(self, attachment_id: int) -> Attachment | None:
        """An attachment by id."""
        with self._lock:
            return self._attachments.get(attachment_id)

    def find_object(self, key: str) -> Attachment | None:
        """The attachment stored under an object key."""
        with self._lock:
            return self._objects.get(key)

    def remember_signature(self, signature: str, key: str, expires: float) -> None:
        """Make a pre-signed URL's signature valid for ``key`` until ``expires``."""
        with self._lock:
            if len(self._signatures) >= SIGNATURES_BEFORE_CLEANUP:
                now = time.time()
                self._signatures = {k: v for k, v in self._signatures.items() if v[1] >= now}
            self._signatures[signature] = (key, expires)

    def signed_key(self, signature: str) -> tuple[str, float] | None:
        """``(object key, expiry)`` a signature was issued for; None if it never was."""
        with self._lock:
            return self._signatures.get(signature)

    def find_user(self, token: str) -> User | None:
        """The user a token was issued to (revoked or not); None for an unknown token."""
        with self._lock:
            grant = self._access_tokens.get(token)
            return grant.user if grant is not None else self._users.get(token)

    def revocation(self, token: str) -> str | None:
        """Canvas's message for a revoked or expired token; None while the token is good."""
        with self._lock:
            grant = self._access_tokens.get(token)
            if grant is not None and grant.expires_at <= time.time():
                return "Invalid access token."
            return self._revoked.get(token)

    def reserve_capacity(self, client: str, now: float) -> bool:
        """Charge the up-front cost to ``client``'s bucket; whether the request may proceed."""
        with self._lock:
            return self._throttle.reserve(client, self._bucket_settings(), now)

    def settle_capacity(self, client: str, now: float, *, served: bool) -> float:
        """Replace the up-front cost by the real one (none if refused, and counted); the capacity left."""
        with self._lock:
            if not served:
                self._counters.throttled += 1
            cost = self.request_cost if served else 0.0
            return self._throttle.settle(client, cost, self._bucket_settings(), now)
