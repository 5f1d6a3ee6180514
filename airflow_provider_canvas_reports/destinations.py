"""
Where a downloaded report lands: a local path or any Airflow ObjectStoragePath URI.

A destination is checked before anything is fetched (the nearest existing folder can be written
in, a bucket exists), and written so that a failure leaves nothing behind:

- locally, bytes go to a hidden ``.part`` file beside the target and are moved into place with an
  atomic rename once complete and verified;
- in object storage, bytes go straight to the final key through the store's own all-or-nothing
  write (:mod:`~airflow_provider_canvas_reports.store_uploads`): an S3 multipart upload, an Azure
  block list, a GCS resumable upload. The object appears, whole, only once the download was
  verified; on failure nothing is left. No temporary key, no server-side copy.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, urlsplit

try:
    import fcntl
except ImportError:  # not on POSIX: no locks, so abandoned part files are never swept
    fcntl = None  # type: ignore[assignment]

from airflow_provider_canvas_reports.exceptions import (
    CanvasInvalidInputError,
    DestinationError,
    DestinationExistsError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_canvas_reports.store_uploads import StoreUpload

log = logging.getLogger(__name__)

#: Longest landed file name, in UTF-8 bytes: file systems allow 255, and the hidden part file a
#: download writes first adds 19 (``.<name>.<12 hex>.part``).
MAX_FILENAME_BYTES = 200

#: Object stores whose first path segment is a bucket (or container) that must already exist.
BUCKET_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl"})
#: Per store: the provider's default connection id, and what a URI without a connection id uses.
STORE_DEFAULT_CREDENTIALS = {
    "s3": ("aws_default", "boto3's default credential chain (environment, ~/.aws, instance role)"),
    "s3a": ("aws_default", "boto3's default credential chain (environment, ~/.aws, instance role)"),
    "gs": ("google_cloud_default", "Google's application default credentials (gcsfs)"),
    "gcs": ("google_cloud_default", "Google's application default credentials (gcsfs)"),
    "abfs": ("wasb_default", "adlfs's default credentials (AZURE_STORAGE_* environment variables)"),
    "abfss": ("wasb_default", "adlfs's default credentials (AZURE_STORAGE_* environment variables)"),
}
#: Azure Blob / ADLS Gen2 through adlfs: named ``abfss://container@account.dfs.core.windows.net``.
AZURE_STORES = frozenset({"abfs", "abfss", "az", "adl"})
#: Object-store uploads: bytes per part, and parts uploading at once (the connection extras
#: ``upload_part_size_mib`` and ``upload_window`` set them per Canvas connection).
DEFAULT_PART_SIZE = 8 << 20
DEFAULT_WINDOW = 4


def safe_filename(name: object) -> str:
    """
    A plain file name from the attachment's name: path separators and control characters become
    ``_`` and leading dots are dropped, so it can never leave the destination folder or hide. A
    name longer than :data:`MAX_FILENAME_BYTES` in UTF-8 (a long section or student name) is
    shortened the same way every time: its start, ``~`` and 8 hex digits of its sha256, and its
    extension, so it still lands and two long names stay apart.

    :raises CanvasInvalidInputError: nothing usable is left of the name.
    """
    if not isinstance(name, str):
        raise CanvasInvalidInputError(f"Invalid report filename {name!r}")
    cleaned = "".join("_" if c in "/\\" or ord(c) < 32 or ord(c) == 127 else c for c in name).strip()
    cleaned = cleaned.lstrip(".").strip()
    if not cleaned:
        raise CanvasInvalidInputError(f"Refusing report filename {name!r}: nothing usable is left of it")
    return _shortened(cleaned)


def _shortened(name: str) -> str:
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    import hashlib

    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > 16:
        stem, extension = name, ""
    suffix = f"~{hashlib.sha256(name.encode()).hexdigest()[:8]}" + (f".{extension}" if extension else "")
    room = MAX_FILENAME_BYTES - len(suffix.encode())
    start = stem.encode()[:room].decode("utf-8", "ignore").rstrip()
    return start + suffix


def check_destination(uri: str) -> None:
    """
    Check, without writing anything, that a report could land at ``uri``: what a download checks
    before it fetches a byte. Call it in a DAG's first task to fail in seconds on a typo'd landing
    root, instead of after the report was generated and waited for.

    :param uri: a local path or an ObjectStoragePath URI, as a download's ``destination`` takes it
        (a folder ends in ``/``). A template's date part need not exist yet: only the nearest
        existing folder, or the bucket, is checked.
    :raises DestinationError: naming the destination and what is wrong with it (also a
        ``ValueError``).
    """
    Destination(uri).check()


#: URI schemes that name this machine's files (a one-letter scheme is a Windows drive).
LOCAL_SCHEMES = frozenset({"", "file", "local"})


def local_path_of(uri: str) -> str | None:
    """
    The local path ``uri`` names, or ``None`` when it names object storage: the one place that
    decides whether a URI is local (downloads, loaders and lineage all ask here).

    A plain path (or a drive letter) is its own path. A ``file://`` or ``local://`` URI is read
    either way it is met: raw, as ``ObjectStoragePath`` writes and reads it
    (``file:///data/Canvas Reports/x.zip``), or percent-encoded, as ``Path.as_uri()`` writes it
    (``file:///data/Canvas%20Reports/x.zip``); the raw reading wins when such a file exists, or
    when there is nothing to decode.
    """
    scheme = urlsplit(uri).scheme.lower()
    if not scheme or len(scheme) == 1:
        return uri
    if scheme not in LOCAL_SCHEMES:
        return None
    rest = uri[len(scheme) + 1 :]
    path = rest[2:] if rest.startswith("//") else rest
    if "%" not in path or os.path.exists(path):
        return path
    from urllib.request import url2pathname

    return url2pathname(path)


def local_path(uri: str) -> str:
    """
    The local path of ``uri``, which must be local (see :func:`local_path_of`).

    :raises CanvasInvalidInputError: ``uri`` names object storage.
    """
    path = local_path_of(uri)
    if path is None:
        raise CanvasInvalidInputError(f"{uri!r} is not a local path or a file:// URI")
    return path


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


class Destination:
    """
    Where the user asked a report's file to land: a file, or a folder when ``target`` ends in ``/``.

    :param target: the destination as given (the rendered template): a local path, ``file://...``,
        or an ObjectStoragePath URI such as ``s3://bucket/prefix/`` or ``s3://conn_id@bucket/key``.
    """

    def __init__(self, target: str):
        if not isinstance(target, str) or not target.strip():
            raise DestinationError(f"Invalid destination {target!r}: expected a path or a URI")
        self.target = target
        self.is_folder = target.endswith("/")
        self.local: Path | None = None
        self.remote: Any = None
        local = local_path_of(target)
        if local is not None:
            self.local = Path(local).expanduser().absolute()
        else:
            from airflow.providers.common.compat.sdk import ObjectStoragePath

            self.remote = ObjectStoragePath(target)

    def error(self, problem: str) -> DestinationError:
        return DestinationError(f"Cannot write the report to destination {self.target!r}: {problem}")

    def check(self) -> None:
        """
        Fail now, before anything is fetched, if the file could not be written: locally the
        nearest existing folder must be a folder this process can create files in (nothing is
        created; the probe is an unnamed temporary file); in a bucket store the bucket must exist.

        :raises DestinationError: naming the destination and what is wrong with it.
        """
        if self.local is not None:
            self._check_local(self.local)
        elif self.remote.protocol in BUCKET_STORES:
            bucket = str(self.remote.path).lstrip("/").split("/", 1)[0]  # the store's own path: no conn_id@
            if bucket and not self.remote.fs.exists(bucket):
                raise self.error(
                    f"the bucket {bucket!r} does not exist (or these credentials cannot see it)"
                    + self._credentials_note()
                )

    def _credentials_note(self) -> str:
        """Which credentials a store request used, and how to name a connection when none was."""
        conn_id = getattr(self.remote, "conn_id", None)
        if conn_id:
            return f"; credentials from the Airflow connection {conn_id!r}"
        scheme = urlsplit(self.target).scheme.lower()
        default_conn, chain = STORE_DEFAULT_CREDENTIALS.get(
            scheme, ("<conn_id>", f"the {scheme} filesystem's default credentials")
        )
        used = f"{chain} was used"
        if getattr(self.remote.fs, "anon", False):
            used += " and found none, so the request was anonymous"
        named = f"{scheme}://{default_conn}@{self.target.split('://', 1)[1]}"
        return (
            f". The URI names no Airflow connection: {used}. To use a connection, name it in the URI: {named}"
        )

    def _check_local(self, path: Path) -> None:
        if not self.is_folder and path.is_dir():
            raise self.error(f"{path} is a folder; end the destination with '/' to land the file inside it")
        folder = path if self.is_folder else path.parent
        existing = folder
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise self.error(f"the folder {folder} cannot be created: {existing} is a file")
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            what = "write in" if existing == folder else f"create the folder {folder} in"
            raise self.error(f"cannot {what} {existing}: {_reason(exc)}") from None

    def file(self, filename: str) -> LandingFile:
        """The file that lands: ``filename`` inside a folder destination, else the target itself."""
        if self.local is not None:
            return LandingFile(self, self.local / filename if self.is_folder else self.local, None)
        return LandingFile(self, None, self.remote / filename if self.is_folder else self.remote)


def _part_pattern(target: Path) -> str:
    return f".{glob.escape(target.name)}.*.part"


def _lock(handle: Any) -> bool | None:
    """
    Take the exclusive lock a writer holds on its part file for as long as it lives: True; False
    when another holds it; None where this filesystem (or platform) has no locks.
    """
    if fcntl is None:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def _is_still(path: Path, handle: Any) -> bool:
    """Whether ``path`` still names the file ``handle`` has open."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(handle.fileno()))
    except FileNotFoundError:
        return False


def _open_part(target: Path) -> tuple[Path, BinaryIO]:
    """
    A new hidden part file beside ``target``, open for writing and locked for as long as this
    process lives (the kernel drops the lock when the process dies, however it dies).
    """
    while True:
        part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
        handle = open(part, "xb")
        locked = _lock(handle)
        # A sweep by another writer can remove the new file between its creation and the lock.
        if locked is None or (locked and _is_still(part, handle)):
            return part, handle
        handle.close()


def remove_abandoned_parts(target: Path) -> None:
    """
    Remove the part files of ``target`` whose writer is gone: a try killed mid-download (OOM,
    eviction, ``SIGKILL``) never reaches its clean-up, and a large report would otherwise leave a
    large hidden file behind every time. A part file whose lock a living writer holds is left
    alone, and so is every part file where locks are not available.
    """
    for part in target.parent.glob(_part_pattern(target)):
        try:
            with open(part, "rb") as handle:
                if _lock(handle) is not True or not _is_still(part, handle):
                    continue
                size = os.fstat(handle.fileno()).st_size
                part.unlink()
        except OSError:  # gone meanwhile, or cannot be opened: leave it
            continue
        log.info("Removed %s (%d bytes), left by an earlier try that was killed mid-download", part, size)


class LandingFile:
    """One target file, local or in object storage, written all or nothing."""

    def __init__(self, destination: Destination, local: Path | None, remote: Any):
        self.destination = destination
        self.local = local
        self.remote = remote

    @property
    def uri(self) -> str:
        """
        The file's URI as ``ObjectStoragePath`` writes it, so that ``ObjectStoragePath(uri)`` reopens
        it: ``file://`` plus the path as is (no percent-encoding, which it would not decode), or the
        store's URI (keeping a ``conn_id@`` if given).
        """
        return f"file://{self.local.as_posix()}" if self.local else str(self.remote)

    @property
    def plain_uri(self) -> str:
        """
        The file's URI without a connection id, percent-encoded where needed, as the store names
        it (an asset's and a lineage dataset's name): ``file:///...``, ``s3://bucket/key``,
        ``gs://bucket/key``, ``abfss://container@account.dfs.core.windows.net/blob``.
        """
        if self.local:
            return self.local.as_uri()
        parts = urlsplit(str(self.remote))
        if parts.scheme.lower() in AZURE_STORES:
            container, _, blob = str(self.remote.path).lstrip("/").partition("/")
            fs = self.remote.fs  # adlfs: given by name, or read from a connection string
            account = fs.account_name or getattr(fs.service_client, "account_name", None) or "unknown"
            return f"abfss://{container}@{account}.dfs.core.windows.net/{quote(blob)}"
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()

    @property
    def name(self) -> str:
        return self.local.name if self.local else self.remote.name

    def exists(self) -> bool:
        return self.local.exists() if self.local else bool(self.remote.exists())

    @contextlib.contextmanager
    def atomic_writer(
        self,
        overwrite: bool,
        size_hint: int | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        window: int = DEFAULT_WINDOW,
    ) -> Iterator[Any]:
        """
        Yield a binary file that can restart from zero (``seek(0)`` + ``truncate()``); on a clean
        exit make it appear at the target whole, on an error leave nothing.

        :param overwrite: when ``False``, a file that appeared at the target meanwhile fails the write.
        :param size_hint: the expected size, to size an upload's parts.
        :param part_size: bytes per uploaded part in object storage (raised where the store needs
            bigger parts, or to stay within its part count).
        :param window: parts uploading at once, at most, where the store uploads parts
            concurrently (S3, Azure Blob).
        :raises DestinationError: when the local file or its folder cannot be written.
        """
        if self.local is None:
            with self._upload(overwrite, size_hint, part_size, window) as upload:
                yield upload
            return
        target = self.local
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_abandoned_parts(target)
            part, handle = _open_part(target)
        except OSError as exc:
            raise self.destination.error(f"cannot write {target}: {_reason(exc)}") from None
        try:
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            self._check_overwrite(overwrite)
            try:
                os.replace(part, target)
            except OSError as exc:
                raise self.destination.error(
                    f"cannot move the file into place at {target}: {_reason(exc)}"
                ) from None
        finally:
            part.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _upload(
        self, overwrite: bool, size_hint: int | None, part_size: int, window: int
    ) -> Iterator[StoreUpload]:
        from airflow_provider_canvas_reports.store_uploads import open_upload, part_size_for

        upload = open_upload(self.remote.fs, self.remote.path, part_size_for(size_hint, part_size), window)
        try:
            yield upload
            upload.commit(before=lambda: self._check_overwrite(overwrite))
        except BaseException:
            try:
                upload.abort()
            except Exception:  # keep the original error; say what may be left behind
                log.warning(
                    "Could not abort the upload to %s; the store may keep its parts", self.uri, exc_info=True
                )
            raise

    def _check_overwrite(self, overwrite: bool) -> None:
        if not overwrite and self.exists():
            raise DestinationExistsError(
                f"{self.uri} appeared while downloading and overwrite=False; nothing changed. Set "
                "overwrite=True to replace it, or put the date in the destination ({{ ds }})"
            )
