"""The errors Canvas answers with, as one family under :class:`CanvasError`."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class CanvasError(AirflowException):
    """
    A Canvas API call failed.

    :param message: what happened, naming the method and path (never the token).
    :param status_code: the HTTP status Canvas answered with, or ``None`` when no answer came.
    :param canvas_message: Canvas's own error message, when its body carried one.
    """

    #: Whether the hook may try the same request again.
    retryable: bool = False
    #: Whether Canvas may have acted on the request (so a POST must not simply be sent again).
    maybe_processed: bool = True

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        canvas_message: str | None = None,
        maybe_processed: bool | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code  # type: ignore[assignment]
        self.canvas_message = canvas_message
        if maybe_processed is not None:
            self.maybe_processed = maybe_processed


class CanvasAuthError(CanvasError):
    """The token is missing, invalid, revoked or expired (401), or may not do this (403)."""


class CanvasNotFoundError(CanvasError):
    """The course, report or file does not exist, or is not visible to this token (404)."""


class CanvasBadRequestError(CanvasError):
    """Canvas refused the request as malformed, e.g. an unknown report type (400)."""


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
    """Canvas answered, but not with what the API promises (not JSON, or keys missing)."""


class CanvasReportFailedError(CanvasError, AirflowFailException):
    """The report ended in ``error``, ``aborted`` or ``deleted``: the task fails without retrying."""


class CanvasDownloadError(CanvasError):
    """The report file could not be downloaded completely."""

    retryable = True
