"""
Where a downloaded report lands: a local path or any Airflow ObjectStoragePath URI.

Writes are atomic: bytes go to a hidden temporary name beside the target (locally) or to a local
temporary file then a temporary key (remote), and only a complete, verified file is moved into
place. A failure leaves nothing at the destination.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator


def safe_filename(name: object) -> str:
    """
    A plain file name from the attachment's name: path separators and control characters become
    ``_`` and leading dots are dropped, so it can never leave the destination folder or hide.
    """
    if not isinstance(name, str):
        raise ValueError(f"Invalid report filename {name!r}")
    cleaned = "".join("_" if c in "/\\" or ord(c) < 32 or ord(c) == 127 else c for c in name).strip()
    cleaned = cleaned.lstrip(".").strip()
    if not cleaned:
        raise ValueError(f"Refusing report filename {name!r}: nothing usable is left of it")
    return cleaned


class Destination:
    """
    A resolved target file.

    :param target: the destination as given (templated value).
    :param filename: the attachment's filename, used when ``target`` ends with ``/``.
    """

    def __init__(self, target: str, filename: str):
        if not isinstance(target, str) or not target.strip():
            raise ValueError(f"Invalid destination {target!r}")
        is_folder = target.endswith("/")
        scheme = urlsplit(target).scheme
        if scheme in ("", "file", "local") or len(scheme) == 1:  # a one-letter scheme is a drive
            local = target[len(scheme) + 3 :] if target.startswith(f"{scheme}://") and scheme else target
            folder_or_file = Path(local).expanduser().absolute()
            self.local: Path | None = folder_or_file / filename if is_folder else folder_or_file
            self.remote: Any = None
        else:
            from airflow.providers.common.compat.sdk import ObjectStoragePath

            self.local = None
            base = ObjectStoragePath(target)
            self.remote = base / filename if is_folder else base

    @property
    def uri(self) -> str:
        return self.local.as_uri() if self.local else str(self.remote)

    @property
    def name(self) -> str:
        return self.local.name if self.local else self.remote.name

    def exists(self) -> bool:
        return self.local.exists() if self.local else bool(self.remote.exists())

    @contextmanager
    def atomic_writer(self, overwrite: bool) -> Iterator[BinaryIO]:
        """Yield a seekable file; on clean exit move it into place, on error remove it."""
        if self.local is not None:
            self.local.parent.mkdir(parents=True, exist_ok=True)
            part = self.local.with_name(f".{self.local.name}.{uuid.uuid4().hex[:12]}.part")
            try:
                with open(part, "wb") as handle:
                    yield handle
                    handle.flush()
                    os.fsync(handle.fileno())
                self._check_overwrite(overwrite)
                os.replace(part, self.local)
            finally:
                part.unlink(missing_ok=True)
            return
        with tempfile.TemporaryFile(prefix="canvas-report-") as handle:
            yield handle
            self._check_overwrite(overwrite)
            handle.seek(0)
            part = self.remote.parent / f".{self.remote.name}.{uuid.uuid4().hex[:12]}.part"
            try:
                with part.open("wb") as out:
                    while chunk := handle.read(1 << 20):
                        out.write(chunk)
                part.rename(self.remote)
            finally:
                if part.exists():
                    part.unlink()

    def _check_overwrite(self, overwrite: bool) -> None:
        if not overwrite and self.exists():
            raise FileExistsError(f"{self.uri} appeared while downloading and overwrite=False")
