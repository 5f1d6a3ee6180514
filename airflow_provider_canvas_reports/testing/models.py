"""Plain data types of the Canvas emulator: users, report behaviour, faults and recorded requests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Largest file the emulator will generate: its ZIP writer does not emit ZIP64 records.
MAX_FILE_SIZE = 0xFFFF_0000

REPORT_OUTCOMES = frozenset({"complete", "error"})
STORAGE_MODES = frozenset({"redirect", "local"})
FILE_HOSTS = frozenset({"api", "files"})
LAST_WITHOUT_REPORT = frozenset({"error", "empty"})
#: The emulator's servers: the Canvas API host, the object store, and the separate files domain.
SERVERS = ("api", "storage", "files")
#: Faults answered instead of the request: the request is refused before Canvas processes it.
FAULTS_BEFORE_ACTION = frozenset(
    {
        "500",
        "502",
        "503",
        "504",
        "502_echo",
        "422",
        "html_200",
        "json_cut",
        "throttle",
        "throttle_429",
        "throttle_retry_after",
        "reset",
        "storage_403",
    }
)
#: Faults applied after the request was processed (a POST has made its report): the answer is lost.
FAULTS_AFTER_ACTION = frozenset({"500_after_action", "reset_after_action"})
FAULT_KINDS = (
    FAULTS_BEFORE_ACTION
    | FAULTS_AFTER_ACTION
    | {
        "slow",
        "hold",
        "truncate",
        "stall",
        "delay_response_after_action",
        "bad_content_range",
    }
)


#: Roles holding the course right ``read_reports``.
READ_REPORTS_ROLES = frozenset({"teacher", "ta", "designer", "admin"})
#: The users a new emulator knows, by token: an admin (course and account reports; ``emu.token``),
#: two teachers (each reads only the reports it started) and a student (may read none).
DEFAULT_TOKENS: dict[str, str] = {
    "emulator-token": "admin",
    "teacher-token": "teacher",
    "other-teacher-token": "teacher",
    "student-token": "student",
}


@dataclass(frozen=True)
class User:
    """A Canvas user behind a token."""

    id: int
    role: str
    name: str

    @property
    def can_read_reports(self) -> bool:
        """Whether the user holds ``read_reports`` in every course."""
        return self.role in READ_REPORTS_ROLES

    @property
    def can_read_account_reports(self) -> bool:
        """Whether the user holds the account right ``read_reports`` (account admins)."""
        return self.role == "admin"

    @property
    def can_list_courses(self) -> bool:
        """Whether the user holds the account right ``read_course_list`` (account admins)."""
        return self.role == "admin"

    def to_json(self) -> dict[str, Any]:
        """``GET /api/v1/users/self``."""
        first, _, last = self.name.partition(" ")
        return {
            "id": self.id,
            "name": self.name,
            "created_at": "2024-01-08T09:00:00-06:00",
            "sortable_name": f"{last}, {first}" if last else self.name,
            "short_name": self.name,
            "avatar_url": "https://canvas.instructure.com/images/messages/avatar-50.png",
            "locale": None,
            "effective_locale": "en",
        }


@dataclass(frozen=True)
class DeveloperKey:
    """An OAuth2 developer key: its client id and secret, and the scopes it enforces.

    ``scopes``: the ``url:VERB|/api/v1/...`` routes its access tokens may call; None: the key does
    not enforce scopes (any route). ``expires_in``: seconds an access token made from it lives.
    """

    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] | None = None
    expires_in: int = 3600


@dataclass
class AccessGrant:
    """An access token made from a developer key's refresh token: whose, and until when."""

    user: User
    client_id: str
    expires_at: float


@dataclass
class ReportBehaviour:
    """How reports started from now on progress (captured per report when it is created).

    ``created_seconds``: time spent ``created`` before the report may start running.
    ``running_seconds``: time spent ``running``.
    ``outcome``: ``"complete"`` or ``"error"`` (a report without sections/enrollments always errors).
    ``hold``: stay ``running`` until :meth:`CanvasEmulator.finish_report` is called.
    ``reads_to_finish``: with ``hold``, a report also completes on its own on its status read
    number ``reads_to_finish`` (0: never). With 2, a sensor's first check sees it running and defers,
    and the trigger's first poll sees it complete: a deferral on any machine, at any speed.
    ``progress``: include a (non-monotonic) ``progress`` key; current Canvas sends none.
    ``file_size``: target size in bytes of the generated file (exact once above the minimal DOCX size).
    ``storage``: ``"redirect"`` (302 to the storage host) or ``"local"`` (the API host serves the bytes).
    ``sequential``: reports of one course run one after another, like Canvas's per-course job strand;
    set False for benchmarks that start many reports on one course.
    ``last_without_report``: what ``GET .../reports/:type`` answers when the caller has no report of
    that type: ``"error"`` (current Canvas: HTTP 500 with its internal-error body) or ``"empty"``
    (older Canvas: ``200 {}``).
    ``file_host``: where ``file_url`` points: ``"api"`` (the API host's ``/files/:id/download``) or
    ``"files"`` (a separate files domain, :attr:`CanvasEmulator.files_url`, which knows no tokens).
    ``rows``: account reports: data rows in each CSV. ``seed``: account reports: what the rows hold
    (the same seed and size give the same bytes).
    """

    created_seconds: float = 0.05
    running_seconds: float = 0.2
    outcome: str = "complete"
    hold: bool = False
    reads_to_finish: int = 0
    progress: bool = False
    file_size: int = 20_000
    storage: str = "redirect"
    sequential: bool = True
    last_without_report: str = "error"
    file_host: str = "api"
    rows: int = 20
    seed: int = 0

    def finishes_on_read(self, reads: int) -> bool:
        """Whether a report held by this behaviour completes on its status read number ``reads``."""
        return self.hold and self.reads_to_finish > 0 and reads >= self.reads_to_finish

    def __post_init__(self) -> None:
        choices = {
            "outcome": REPORT_OUTCOMES,
            "storage": STORAGE_MODES,
            "file_host": FILE_HOSTS,
            "last_without_report": LAST_WITHOUT_REPORT,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {sorted(allowed)}, not {value!r}")
        if not 0 <= self.file_size <= MAX_FILE_SIZE:
            raise ValueError(f"file_size must be between 0 and {MAX_FILE_SIZE}")
        if self.rows < 0 or self.reads_to_finish < 0:
            raise ValueError("rows and reads_to_finish must not be negative")
        if self.created_seconds < 0 or self.running_seconds < 0:
            raise ValueError("created_seconds and running_seconds must not be negative")

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportBehaviour:
        """Build from a dict, rejecting unknown keys."""
        return cls(**_known_fields(cls, data))


@dataclass
class Fault:
    """A failure injected into matching requests.

    ``kind``: one of :data:`FAULT_KINDS`:

    - refused before processing (nothing happens on the server): ``500`` (Canvas's JSON 500, or
      S3's XML error on storage), ``502``/``503``/``504`` (a proxy's HTML page), ``html_200`` (a
      maintenance page), ``json_cut`` (a 200 whose JSON is cut short), ``throttle`` (Canvas's 403),
      ``throttle_429`` (429 with ``Retry-After: <delay>``), ``throttle_retry_after`` (Canvas's 403
      with ``Retry-After: <delay>``), ``reset`` (connection reset), ``422``
      (an error no retry fixes but Airflow's retries may), ``502_echo`` (a proxy's 502 page that
      names the URL asked for, query string included, and echoes the request headers, as Squid's
      does), ``storage_403`` (storage's ``SignatureDoesNotMatch``, echoing the signature);
    - processed, then the answer is lost (a POST has made its report): ``500_after_action``,
      ``reset_after_action``, ``delay_response_after_action`` (answers after ``delay``);
    - ``slow``: waits ``delay`` seconds, then handles the request normally;
    - ``hold``: waits until the faults are cleared (at most ``delay`` seconds), then handles the
      request normally: a test holds a request while it waits for something else to happen;
    - ``truncate``: the full ``Content-Length``, then only ``truncate_at`` body bytes and a close;
    - ``stall``: ``truncate_at`` body bytes, a pause of ``delay`` seconds, then the rest (a
      download caught mid-stream);
    - ``bad_content_range``: a ranged GET answers 206 from another byte than the one asked for,
      with a truthful ``Content-Range`` (only requests with a ``Range`` header match).

    ``count``: how many matching requests it hits (-1: forever).
    ``course_id``, ``method``, ``path_contains``, ``server``: filters (None matches anything).
    ``delay``: seconds, for ``slow``, ``stall`` and ``delay_response_after_action``; the longest
    wait of ``hold``.
    ``truncate_at``: bytes of body sent before closing (``truncate``) or before pausing ``delay``
    seconds and sending the rest (``stall``); default: half the body.
    """

    kind: str
    count: int = 1
    course_id: int | None = None
    method: str | None = None
    path_contains: str | None = None
    server: str = "api"
    delay: float = 1.0
    truncate_at: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.server not in SERVERS:
            raise ValueError(f"server must be one of {list(SERVERS)}, not {self.server!r}")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, server: str, method: str, path: str, course_id: int | None) -> bool:
        """Whether this fault applies to a request (ignores ``count``)."""
        return (
            self.server == server
            and (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in path)
            and (self.course_id is None or self.course_id == course_id)
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build from a dict, rejecting unknown keys."""
        return cls(**_known_fields(cls, data))


@dataclass
class RecordedRequest:
    """One request as the emulator received it (``status`` is filled in once answered; 0 = no answer)."""

    server: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    connection_id: int
    time: float
    status: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the body becomes a latin-1 string."""
        data = asdict(self)
        data["body"] = self.body.decode("latin-1")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedRequest:
        """Inverse of :meth:`to_dict`."""
        values = _known_fields(cls, data)
        values["body"] = str(values.get("body", "")).encode("latin-1")
        return cls(**values)


@dataclass
class Counters:
    """Counters kept even when request recording is off."""

    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVERS, 0))
    connections: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVERS, 0))
    posts: dict[int, int] = field(default_factory=dict)
    account_posts: dict[int, int] = field(default_factory=dict)
    #: Access tokens made at ``/login/oauth2/token``, per developer key's client id.
    tokens_issued: dict[str, int] = field(default_factory=dict)
    #: Requests answered ``403 (Rate Limit Exceeded)`` by the throttle (injected faults excluded).
    throttled: int = 0


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return dict(data)
