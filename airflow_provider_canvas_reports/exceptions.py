"""
The errors Canvas answers with, as one family under :class:`CanvasError`.

Errors no retry can fix (a bad or unauthorised token, an unknown course or report, a refused
request) are also :class:`~airflow.exceptions.AirflowFailException`: the task fails at once instead
of waiting out its Airflow retries. Throttling, server errors (5xx) and network errors stay
retryable, by the hook and then by Airflow.

.. seealso:: :doc:`/troubleshooting`, the errors as a task log shows them.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class CanvasError(AirflowException):
    """
    A Canvas API call failed.

    :param message: what happened, naming the method and path. Scrubbed of every secret
        (:func:`~.redact.scrub`): a body that echoes the request carries no token or verifier out.
    :param status_code: the HTTP status Canvas answered with, or ``None`` when no answer came.
    :param canvas_message: Canvas's own error message, when its body carried one.
    """

    #: Whether the hook may try the same request again.
    retryable: bool = False
    #: Whether Canvas may have acted on the request (so a POST must not simply be sent again).
    maybe_processed: bool = True
    #: Seconds the answer's ``Retry-After`` asked to wait (``None``: it sent none). No retry
    #: starts before they pass.
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        canvas_message: str | None = None,
        maybe_processed: bool | None = None,
    ):
        from airflow_provider_canvas_reports.redact import scrub

        message = scrub(message)
        hint = self.hint(status_code)
        super().__init__(f"{message.rstrip('. ')}. {hint}" if hint else message)
        self.status_code = status_code  # type: ignore[assignment]
        self.canvas_message = scrub(canvas_message) if canvas_message else canvas_message
        if maybe_processed is not None:
            self.maybe_processed = maybe_processed

    @classmethod
    def hint(cls, status_code: int | None) -> str:
        """What the user can do about this error, added to its message (empty when nothing useful)."""
        return ""


class CanvasAuthError(CanvasError, AirflowFailException):
    """
    The token is missing, invalid, revoked or expired (401), or may not do this (403). The task
    fails without Airflow retries: only a new token or new rights fix it.
    """

    @classmethod
    def hint(cls, status_code: int | None) -> str:
        if status_code == 403:
            return (
                "The token's user may not do this: it needs the right read_reports in the course "
                "(teachers, TAs, designers and account admins have it), and only a report's creator "
                "may read it"
            )
        return (
            "Check the access token (the password of the Canvas connection): Canvas did not accept it; "
            "make a new one under Account > Settings > New access token"
        )


class CanvasDeveloperKeyError(CanvasAuthError):
    """
    Canvas refused the connection's developer key: its client id or secret (401 ``invalid_client``),
    its refresh token (400 ``invalid_request`` "refresh_token not found", or ``invalid_grant``), or
    an access token just made from it. The message says which extra to fix; never retried.
    """

    @classmethod
    def hint(cls, status_code: int | None) -> str:
        return ""


class CanvasScopeError(CanvasAuthError):
    """
    The developer key enforces scopes and lacks the one this call needs (401 "Insufficient scopes
    on access token."): the message names the scope to add. A new token would not help: never retried.
    """

    @classmethod
    def hint(cls, status_code: int | None) -> str:
        return ""


class CanvasNotFoundError(CanvasError, AirflowFailException):
    """
    The course, report or file does not exist, or is not visible to this token (404). The task fails
    without Airflow retries.
    """

    @classmethod
    def hint(cls, status_code: int | None) -> str:
        return (
            "Check the course id (and the report id): Canvas knows no such course or report, "
            "or hides it from this token's user"
        )


class CanvasBadRequestError(CanvasError, AirflowFailException):
    """
    Canvas refused the request as malformed, e.g. an unknown report type (400). The task fails
    without Airflow retries.
    """

    @classmethod
    def hint(cls, status_code: int | None) -> str:
        return "Check the report type (Canvas offers course_pace_docx for courses) and its parameters"


class CanvasRateLimitError(CanvasError):
    """Canvas throttled the token (403 "Rate Limit Exceeded", or 429)."""

    retryable = True
    maybe_processed = False


class CanvasServerError(CanvasError):
    """Canvas, or a proxy in front of it, failed (5xx)."""

    retryable = True


class CanvasNoReportError(CanvasServerError):
    """
    Canvas's generic HTTP 500 where the answer may simply be "nothing to show": current Canvas fails
    this way on the last-report lookup when the caller has no report of that type. Not retried:
    the hook checks once more and then reads it as "no report".
    """

    retryable = False


class CanvasTransportError(CanvasError):
    """No usable answer: connection refused or reset, timeout, or a body cut short."""

    retryable = True


class CanvasUnexpectedResponseError(CanvasError):
    """
    Canvas answered, but not with what the API promises (not JSON, or keys missing): a maintenance
    page or a body cut short behind a proxy looks like this. A read (GET) is retried like a 5xx;
    a start is not sent again blindly (it may have made a report).
    """

    retryable = True


class CanvasReportFailedError(CanvasError, AirflowFailException):
    """The report ended in ``error``, ``aborted`` or ``deleted``: the task fails without retrying."""


class CanvasWaitFailedError(CanvasError, AirflowFailException):
    """The wait in the triggerer met an error no retry can fix (auth, not found, bad request)."""


class CanvasDownloadError(CanvasError):
    """The report file could not be downloaded completely."""

    retryable = True


class CanvasStorageRefusedError(CanvasDownloadError):
    """
    The object storage behind ``file_url`` refused the signed URL Canvas redirected to (403: it
    expired, or the signature does not match). Not the token's fault: the hook reads the report
    again for a fresh ``file_url`` and retries.
    """


class CanvasInvalidInputError(CanvasError, AirflowFailException, ValueError):
    """
    An argument cannot be sent to Canvas as it is (an id, a report type, report parameters, a
    destination): refused before any request, and the task fails at once, since no retry can fix
    it. Also a :class:`ValueError`, so ``except ValueError`` keeps working.
    """


class CanvasReportFileError(CanvasInvalidInputError):
    """A landed report file cannot be read as what it should be (broken, truncated, hostile)."""


class DestinationError(CanvasInvalidInputError):
    """The destination cannot be written; the message names it as the user gave it."""


class DestinationExistsError(DestinationError):
    """A file is at the destination and ``overwrite=False``: nothing was changed."""


class CanvasConnectionConfigError(CanvasInvalidInputError):
    """
    The ``canvas`` connection cannot be used as it is (no host, no token, plain ``http://`` off
    loopback, an extra that is not a number...): the task fails at once, since no retry can fix it.
    """


class CanvasWarehouseConnectionError(CanvasInvalidInputError):
    """
    The SQL connection a loader writes to is not defined, or Airflow cannot make a hook for it
    (its provider is not installed): the task fails at once, and the message says how to fix it.
    """


class CanvasWarehouseError(CanvasError):
    """
    The database refused or broke off a load (a lost connection, a full disk, a constraint). The
    load's transaction was rolled back, so the tables hold the rows they held before; Airflow may
    retry the task.
    """
