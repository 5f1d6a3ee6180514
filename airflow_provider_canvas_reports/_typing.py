"""Types shared across modules."""

from __future__ import annotations

from typing import Any, Protocol


class Log(Protocol):
    """What the provider needs of a logger: stdlib loggers and Airflow's structlog loggers both fit."""

    def debug(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def info(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
