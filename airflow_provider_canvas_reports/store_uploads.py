"""
Writing a report straight to its final key in an object store, visible only once committed.

Each store is written the way it guarantees all-or-nothing:

- **S3** (s3fs): a multipart upload. Parts go up concurrently while the download goes on, at most
  ``window`` parts in flight; the object appears only when the upload is completed, after the
  download was verified. A failure aborts the upload: no object, no incomplete upload. A file
  smaller than one part is one ``PutObject`` at commit.
- **Azure Blob** (adlfs): blocks staged concurrently on the final blob name, ``window`` in flight;
  the blob appears (or is replaced) in one step when the block list is committed. Staged blocks
  are invisible until then. A failure deletes the uncommitted blob (its blocks with it) when no
  committed blob is at that name; where one is, it is left untouched, and the store drops the
  uncommitted blocks at the next commit or after 7 days.
- **Any other fsspec store with transactional writes** (``autocommit=False``; GCS through gcsfs:
  a resumable upload, finalized at commit and cancelled on failure): written in order on a worker
  thread, one part behind the download.
- **A store without them** (fsspec's memory filesystem): written in place, removed on failure.

``seek(0)`` followed by ``truncate()`` starts over (a download that cannot resume restarts from
its first byte): whatever was uploaded is aborted first.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import queue
import threading
import uuid
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.exceptions import CanvasDownloadError

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

log = logging.getLogger(__name__)

MIB = 1 << 20
#: Smallest part S3 accepts (every part but the last).
S3_MIN_PART_SIZE = 5 * MIB
#: Most parts of one upload: S3 allows 10,000; Azure 50,000 blocks.
MAX_PARTS = 9_000


def part_size_for(size_hint: int | None, part_size: int) -> int:
    """``part_size``, or the smallest whole MiB above it that keeps ``size_hint`` within MAX_PARTS."""
    if size_hint and size_hint > part_size * MAX_PARTS:
        return -(-size_hint // (MAX_PARTS * MIB)) * MIB
    return part_size


def open_upload(fs: Any, path: str, part_size: int, window: int) -> StoreUpload:
    """
    The writer for ``path`` in ``fs``: concurrent parts where the store has them (S3, Azure Blob),
    else the store's own transactional file.

    :param fs: the fsspec filesystem of the destination.
    :param path: the key, as the filesystem names it (``bucket/key``, ``container/blob``).
    :param part_size: bytes per part (S3 part, Azure block, gcsfs chunk).
    :param window: parts uploading at once, at most (memory: about ``window + 1`` parts).
    """
    module = type(fs).__module__.split(".")[0]
    if module == "s3fs":
        return _S3Upload(fs, path, part_size, window)
    if module == "adlfs":
        return _AzureBlockUpload(fs, path, part_size, window)
    return _FileUpload(fs, path, part_size)


class StoreUpload:
    """
    A binary file that lands at an object store's key only once :meth:`commit` ran; :meth:`abort`
    leaves nothing. ``seek(0)`` + ``truncate()`` start over.
    """

    transactional = True

    def __init__(self, fs: Any, path: str, part_size: int):
        self.fs = fs
        self.path = path
        self.part_size = part_size
        self._written = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset == self._written:
            return offset
        if whence != io.SEEK_SET or offset != 0:
            raise io.UnsupportedOperation("an upload can only start over from the beginning")
        self.abort()
        self._restart()
        self._written = 0
        return 0

    def truncate(self, size: int | None = None) -> int:
        if (self._written if size is None else size) != self._written:
            raise io.UnsupportedOperation("an upload can only be truncated where it is")
        return self._written

    def write(self, data: Any) -> int:
        size = len(data)
        self._write(data)
        self._written += size
        return size

    # What a store's writer provides.
    def _write(self, data: Any) -> None:
        raise NotImplementedError

    def _restart(self) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Wait until everything written so far, but the part still filling, reached the store."""

    def commit(self, before: Callable[[], None] | None = None) -> None:
        """Upload what is left, run ``before`` (if it raises, nothing appears), then show the object."""
        raise NotImplementedError

    def abort(self) -> None:
        """Leave nothing: no object, no upload in progress."""
        raise NotImplementedError


class _PartsUpload(StoreUpload):
    """
    Parts uploaded concurrently on the filesystem's event loop, at most ``window`` at once. Parts
    are filled in ``window + 1`` buffers allocated once and reused (no allocation per part): the
    download blocks while every buffer is uploading, so memory stays at ``window + 1`` parts.
    A failed part is raised by the next :meth:`write`, :meth:`flush` or :meth:`commit`.
    """

    def __init__(self, fs: Any, path: str, part_size: int, window: int):
        super().__init__(fs, path, part_size)
        self.window = max(1, window)
        self._loop = fs.loop
        self._restart()

    def _restart(self) -> None:
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._allocated = 1
        self._inflight: dict[int, Future[Any]] = {}
        self._done: dict[int, Any] = {}
        self._failure: BaseException | None = None
        self._buffer = bytearray(self.part_size)
        self._view = memoryview(self._buffer)
        self._filled = 0
        self._number = 0

    def _next_buffer(self) -> bytearray:
        """A buffer to fill: a returned one, a new one while fewer than ``window + 1`` exist, else wait."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            if self._allocated <= self.window:
                self._allocated += 1
                return bytearray(self.part_size)
        return self._free.get()

    def _write(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        while view.nbytes:
            take = min(self.part_size - self._filled, view.nbytes)
            self._view[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
            if self._filled == self.part_size:
                self._send()

    def _send(self) -> None:
        """Upload the filled buffer as the next part, and go on filling another."""
        self._raise_failure()
        if self._number == 0:
            self._call(self._start)
        buffer = self._buffer
        data: bytes | bytearray = buffer if self._filled == len(buffer) else bytes(self._view[: self._filled])
        self._number += 1
        number = self._number
        future = asyncio.run_coroutine_threadsafe(self._put(number, data), self._loop)
        self._inflight[number] = future
        future.add_done_callback(lambda done: self._part_done(number, done, buffer))
        self._buffer = self._next_buffer()
        self._view = memoryview(self._buffer)
        self._filled = 0

    def _part_done(self, number: int, future: Future[Any], buffer: bytearray) -> None:
        """Runs on the loop once a part is answered: note a failure (for the next write), free the
        buffer. The part's answer is read by :meth:`_wait`: ``future.result()`` returns to a waiter
        before this callback has run, so a result noted here could be missing at the commit."""
        try:
            error = future.exception()
            if error is not None and self._failure is None:
                self._failure = error
        finally:
            self._free.put(buffer)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(method(*args), self._loop).result()

    def _wait(self) -> None:
        """Wait for every part in flight; keep each answer (an S3 ETag, an Azure block id)."""
        for number, future in list(self._inflight.items()):
            try:
                self._done[number] = future.result()
            except BaseException as error:
                if self._failure is None:
                    self._failure = error
        self._inflight.clear()

    def flush(self) -> None:
        self._wait()
        self._raise_failure()

    def commit(self, before: Callable[[], None] | None = None) -> None:
        if self._number == 0:  # smaller than one part: one request, after the check
            data = bytes(self._view[: self._filled])
            if before is not None:
                before()
            self._call(self._put_whole, data)
            return
        if self._filled:
            self._send()
        self.flush()
        if sorted(self._done) != list(range(1, self._number + 1)):  # never commit with a part missing
            raise CanvasDownloadError(f"{self.path}: {self._number} parts sent, {len(self._done)} answered")
        if before is not None:
            before()
        self._call(self._complete, [self._done[n] for n in range(1, self._number + 1)])

    def abort(self) -> None:
        # Parts in flight finish first (bounded by the window and the client's timeouts): a part
        # that landed after the abort would otherwise be kept by the store.
        self._wait()
        if self._number:
            self._call(self._abort)

    # What a store provides, as coroutines on the filesystem's loop.
    async def _start(self) -> None:
        raise NotImplementedError

    async def _put(self, number: int, data: bytes | bytearray) -> Any:
        raise NotImplementedError

    async def _complete(self, parts: list[Any]) -> None:
        raise NotImplementedError

    async def _put_whole(self, data: bytes) -> None:
        raise NotImplementedError

    async def _abort(self) -> None:
        raise NotImplementedError


class _S3Upload(_PartsUpload):
    """An S3 multipart upload through s3fs's client (its credentials, endpoint and extra arguments)."""

    def __init__(self, fs: Any, path: str, part_size: int, window: int):
        self.bucket, self.key, _ = fs.split_path(path)
        self.upload_id: str | None = None
        super().__init__(fs, path, max(part_size, S3_MIN_PART_SIZE), window)

    async def _start(self) -> None:
        answer = await self.fs._call_s3("create_multipart_upload", Bucket=self.bucket, Key=self.key)
        self.upload_id = answer["UploadId"]

    async def _put(self, number: int, data: bytes | bytearray) -> Any:
        answer = await self.fs._call_s3(
            "upload_part",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
        )
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if "ChecksumSHA256" in answer:
            part["ChecksumSHA256"] = answer["ChecksumSHA256"]
        return part

    async def _complete(self, parts: list[Any]) -> None:
        try:
            await self.fs._call_s3(
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        except Exception:
            # A completion that timed out on the client may have completed on the server, and its
            # retry then fails (the upload is gone). The object is ours if its ETag is the one S3
            # gives exactly these parts: the MD5 of their MD5s, and their count.
            if not await self._completed_as(parts):
                raise
            log.info("The upload of %s was completed on an earlier attempt of the request", self.path)
        self.upload_id = None
        self.fs.invalidate_cache(self.path)

    async def _completed_as(self, parts: list[Any]) -> bool:
        import hashlib

        try:
            digests = b"".join(bytes.fromhex(part["ETag"].strip('"')) for part in parts)
            head = await self.fs._call_s3("head_object", Bucket=self.bucket, Key=self.key)
        except Exception:  # an ETag that is not an MD5 (SSE-KMS), or no object: not known to be ours
            return False
        expected = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'
        return bool(head.get("ETag") == expected)

    async def _put_whole(self, data: bytes) -> None:
        await self.fs._call_s3("put_object", Bucket=self.bucket, Key=self.key, Body=data)
        self.fs.invalidate_cache(self.path)

    async def _abort(self) -> None:
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            await self.fs._call_s3(
                "abort_multipart_upload", Bucket=self.bucket, Key=self.key, UploadId=upload_id
            )


class _AzureBlockUpload(_PartsUpload):
    """Blocks staged on the final blob and committed as its block list, through adlfs's client."""

    def __init__(self, fs: Any, path: str, part_size: int, window: int):
        self.container, self.blob, _ = fs.split_path(path)
        self._prefix = uuid.uuid4().hex[:16]
        super().__init__(fs, path, part_size, window)

    def _client(self) -> Any:
        return self.fs.service_client.get_blob_client(self.container, self.blob)

    async def _start(self) -> None:
        return

    async def _put(self, number: int, data: bytes | bytearray) -> Any:
        block_id = f"{self._prefix}{number:016d}"  # every id of a blob must have the same length
        async with self._client() as client:
            await client.stage_block(block_id=block_id, data=data, length=len(data))
        return block_id

    async def _complete(self, parts: list[Any]) -> None:
        from azure.storage.blob import BlobBlock

        async with self._client() as client:
            await client.commit_block_list([BlobBlock(block_id) for block_id in parts])
        self.fs.invalidate_cache(self.path)

    async def _put_whole(self, data: bytes) -> None:
        async with self._client() as client:
            await client.upload_blob(data, overwrite=True)
        self.fs.invalidate_cache(self.path)

    async def _abort(self) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        async with self._client() as client:
            try:
                await client.get_blob_properties()
            except ResourceNotFoundError:  # only our uncommitted blocks are there: drop them
                with contextlib.suppress(ResourceNotFoundError):
                    await client.delete_blob()
                return
        log.info(
            "Left %s as it was; the store drops the blocks of the aborted upload at the next commit "
            "or after 7 days",
            self.path,
        )


class _FileUpload(StoreUpload):
    """
    The store's own file object with ``autocommit=False`` (gcsfs: a resumable upload), written on a
    worker thread one part behind the download; or, where the store has no transactional write,
    written in place and removed on failure.
    """

    def __init__(self, fs: Any, path: str, part_size: int):
        super().__init__(fs, path, part_size)
        self._handle = self._open()
        self._writer = _Writer(self._handle, depth=max(1, part_size >> 20))

    def _open(self) -> Any:
        # _open, not open: fsspec's open() also files a non-autocommit file in the filesystem's
        # shared transaction, which would commit or discard it a second time later.
        handle = self.fs._open(self.path, mode="wb", block_size=self.part_size, autocommit=False)
        self.transactional = getattr(handle, "autocommit", True) is False
        return handle

    def _restart(self) -> None:
        self._handle = self._open()
        self._writer = _Writer(self._handle, depth=self._writer.depth)

    def _write(self, data: Any) -> None:
        self._writer.write(data)

    def flush(self) -> None:
        self._writer.finish()
        self._writer = _Writer(self._handle, depth=self._writer.depth)

    def commit(self, before: Callable[[], None] | None = None) -> None:
        self._writer.finish()
        self._handle.close()
        if self.transactional:
            if before is not None:
                before()
            self._handle.commit()

    def abort(self) -> None:
        self._writer.stop()
        if self.transactional:
            self._handle.discard()
            with contextlib.suppress(AttributeError):  # nothing left to flush: closing must not upload
                self._handle.closed = True
            return
        self._handle.close()
        if self.fs.exists(self.path):
            self.fs.rm(self.path)


class _Writer:
    """
    Writes to ``handle`` on a worker thread, up to ``depth`` chunks behind the caller, so that
    uploading one part overlaps downloading the next (memory: ``depth`` chunks more).
    An error in the worker is raised by the next :meth:`write` or by :meth:`finish`.
    """

    def __init__(self, handle: Any, depth: int):
        self.handle = handle
        self.depth = depth
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._dropping = False
        self._thread = threading.Thread(target=self._run, name="canvas-report-upload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None and not self._dropping:
                try:
                    self.handle.write(chunk)
                except BaseException as exc:
                    self._error = exc

    def write(self, data: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(bytes(data))

    def finish(self) -> None:
        """Wait until everything written so far reached the handle."""
        self._join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Drop what is still queued and end the worker."""
        self._dropping = True
        self._join()

    def _join(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
