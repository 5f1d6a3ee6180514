"""
A no-op S3 server for section 6's diagnostic comparison: it speaks just enough of the S3 API for an
upload (bucket check, multipart upload, ``PutObject``, abort) and throws the bytes away, counting
them. Against it the clients' own cost shows, without moto's (moto keeps and hashes every part in
Python and is CPU-bound on a 2-core machine).

    python -m benchmarks.noop_s3 --port 0   # prints "listening on http://127.0.0.1:<port>"

``GET /_noop/sizes`` answers ``{key: bytes}`` of the objects completed so far.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_LOCK = threading.Lock()
_UPLOADS: dict[str, int] = {}  # upload id -> bytes received
_SIZES: dict[str, int] = {}  # key -> bytes of the completed object


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        return

    def _drain(self) -> int:
        length = int(self.headers.get("content-length") or 0)
        left, buffer = length, bytearray(1 << 20)
        view = memoryview(buffer)
        while left:
            read = self.rfile.readinto(view[: min(left, len(buffer))])
            if not read:
                break
            left -= read
        return length - left

    def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/xml")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _target(self) -> tuple[str, str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return bucket, key, parse_qs(parts.query, keep_blank_values=True)

    def do_HEAD(self) -> None:
        self._answer(200)

    def do_GET(self) -> None:
        if self.path.startswith("/_noop/sizes"):
            with _LOCK:
                body = json.dumps(_SIZES).encode()
            self._answer(200, body)
            return
        bucket, _, _ = self._target()
        xml = f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>{bucket}</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>'  # noqa: E501
        self._answer(200, xml.encode())

    def do_PUT(self) -> None:
        bucket, key, query = self._target()
        size = self._drain()
        with _LOCK:
            if "uploadId" in query:
                _UPLOADS[query["uploadId"][0]] = _UPLOADS.get(query["uploadId"][0], 0) + size
            elif key:
                _SIZES[key] = size
        self._answer(200, headers={"ETag": f'"{uuid.uuid4().hex}"'})

    def do_POST(self) -> None:
        bucket, key, query = self._target()
        self._drain()
        if "uploads" in query:
            upload_id = uuid.uuid4().hex
            with _LOCK:
                _UPLOADS[upload_id] = 0
            xml = f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"  # noqa: E501
        else:
            with _LOCK:
                _SIZES[key] = _UPLOADS.pop(query["uploadId"][0], 0)
            xml = f'<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key><ETag>"{uuid.uuid4().hex}-1"</ETag></CompleteMultipartUploadResult>'  # noqa: E501
        self._answer(200, xml.encode())

    def do_DELETE(self) -> None:
        _, _, query = self._target()
        with _LOCK:
            _UPLOADS.pop((query.get("uploadId") or [""])[0], None)
        self._answer(204)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.noop_s3")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
