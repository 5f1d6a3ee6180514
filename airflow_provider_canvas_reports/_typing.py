"""Types shared across modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from airflow.sdk import XComArg

T = TypeVar("T")


class Log(Protocol):
    """What the provider needs of a logger: stdlib loggers and Airflow's structlog loggers both fit."""

    def debug(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def info(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...


def rendered(value: T | XComArg) -> T:
    """
    A templated argument as ``execute()`` sees it. A DAG may pass another task's output
    (``start.output``) for any templated argument, so the arguments' types name ``XComArg``; by
    the time a task runs, Airflow has resolved it (and every template) to the value itself.
    """
    return value  # type: ignore[return-value]
