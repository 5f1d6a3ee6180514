"""Virtual files: literal bytes, padding cut from one pre-built block, and generated blocks.

A :class:`VirtualFile` is a list of segments. Each segment is literal ``bytes``, a :class:`Padding`
of some length whose content is :func:`padding_block` repeated from its start, or :class:`Blocks`
made on demand by a function (the rows of a generated CSV). Serving, hashing and CRC-ing a 1 GiB
file therefore never holds it whole in memory.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import random
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BLOCK_SIZE = 1 << 20
CHUNK_SIZE = 1 << 20


@lru_cache(maxsize=1)
def padding_block() -> bytes:
    """A deterministic 1 MiB block of base64 text (XML-safe), built on first use."""
    raw = random.Random(0x5EED).randbytes(BLOCK_SIZE * 3 // 4)
    block = base64.b64encode(raw)
    assert len(block) == BLOCK_SIZE
    return block


@dataclass(frozen=True)
class Padding:
    """``length`` bytes of :func:`padding_block` repeated from its first byte."""

    length: int


class Blocks:
    """
    ``count`` blocks of bytes made on demand by ``make(index)``, which must give the same bytes
    every time. They are made once here, to learn each block's size and the CRC-32 of them all;
    only those are kept, and reading a byte range makes its blocks again.
    """

    def __init__(self, make: Callable[[int], bytes], count: int) -> None:
        self.make = make
        self.offsets = [0]
        crc = 0
        for index in range(count):
            block = make(index)
            crc = zlib.crc32(block, crc)
            self.offsets.append(self.offsets[-1] + len(block))
        self.length = self.offsets[-1]
        self.crc = crc

    def iter_range(self, start: int, end: int) -> Iterator[memoryview]:
        """The bytes in ``[start, end)``, block by block."""
        index = bisect.bisect_right(self.offsets, start) - 1
        while index < len(self.offsets) - 1 and self.offsets[index] < end:
            block = memoryview(self.make(index))
            base = self.offsets[index]
            yield block[max(0, start - base) : min(len(block), end - base)]
            index += 1


Segment = bytes | Padding | Blocks


def _segment_length(segment: Segment) -> int:
    return segment.length if isinstance(segment, Padding | Blocks) else len(segment)


class VirtualFile:
    """An immutable file made of segments; streams any byte range as memoryviews of at most 1 MiB."""

    def __init__(self, segments: list[Segment]) -> None:
        merged: list[Segment] = []
        for segment in segments:
            if isinstance(segment, Padding | Blocks):
                if segment.length:
                    merged.append(segment)
            elif segment:
                if merged and isinstance(merged[-1], bytes):
                    merged[-1] += segment
                else:
                    merged.append(segment)
        self.segments: tuple[Segment, ...] = tuple(merged)
        self.size = sum(_segment_length(s) for s in merged)
        self._crc: int | None = None

    def iter_range(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """Yield the bytes in ``[start, end)`` as memoryviews (no copies of the padding block)."""
        end = self.size if end is None else min(end, self.size)
        offset = 0
        for segment in self.segments:
            length = _segment_length(segment)
            seg_start, seg_end = max(start, offset), min(end, offset + length)
            if seg_start < seg_end:
                if isinstance(segment, Padding):
                    yield from _padding_views(seg_start - offset, seg_end - offset)
                elif isinstance(segment, Blocks):
                    yield from segment.iter_range(seg_start - offset, seg_end - offset)
                else:
                    view = memoryview(segment)
                    for pos in range(seg_start - offset, seg_end - offset, CHUNK_SIZE):
                        yield view[pos : min(pos + CHUNK_SIZE, seg_end - offset)]
            offset += length
            if offset >= end:
                break

    def read(self, limit: int = 64 << 20) -> bytes:
        """The whole content; refuses files larger than ``limit``."""
        if self.size > limit:
            raise ValueError(f"file is {self.size} bytes; use sha256() or iter_range() for large files")
        return b"".join(self.iter_range())

    def sha256(self) -> str:
        """Hex SHA-256 of the content (streams; fine for gigabytes)."""
        digest = hashlib.sha256()
        for view in self.iter_range():
            digest.update(view)
        return digest.hexdigest()

    def crc32(self) -> int:
        """CRC-32 of the content, computed once; padding runs cost O(log n), not O(n)."""
        if self._crc is None:
            crc = 0
            for segment in self.segments:
                if isinstance(segment, Padding):
                    crc = crc32_combine(crc, padding_crc32(segment.length), segment.length)
                elif isinstance(segment, Blocks):
                    crc = crc32_combine(crc, segment.crc, segment.length)
                else:
                    crc = zlib.crc32(segment, crc)
            self._crc = crc
        return self._crc


def _padding_views(start: int, end: int) -> Iterator[memoryview]:
    block = memoryview(padding_block())
    pos = start
    while pos < end:
        offset = pos % BLOCK_SIZE
        count = min(BLOCK_SIZE - offset, end - pos)
        yield block[offset : offset + count]
        pos += count


# CRC-32 combination over GF(2), after zlib's crc32_combine: a 32x32 bit matrix (a list of 32
# column ints) is the operator "append N zero bits"; _ZERO_BYTE_OPS[k] appends 2**k zero bytes.


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, index = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, column) for column in matrix]


@lru_cache(maxsize=1)
def _zero_byte_ops() -> tuple[list[int], ...]:
    one_bit = [0xEDB88320] + [1 << n for n in range(31)]
    op = _gf2_square(_gf2_square(_gf2_square(one_bit)))  # 8 zero bits = one zero byte
    ops = [op]
    for _ in range(63):
        op = _gf2_square(op)
        ops.append(op)
    return tuple(ops)


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)``."""
    if crc1 == 0 or len2 <= 0:
        return crc2 if len2 > 0 else crc1
    return _gf2_times(_shift_operator(len2), crc1) ^ crc2


@lru_cache(maxsize=256)
def _shift_operator(length: int) -> list[int]:
    """The operator "append ``length`` zero bytes", composed once per length."""
    ops = _zero_byte_ops()
    result: list[int] | None = None
    bit = 0
    while length:
        if length & 1:
            op = ops[bit]
            result = op if result is None else [_gf2_times(op, column) for column in result]
        length >>= 1
        bit += 1
    assert result is not None
    return result


@lru_cache(maxsize=256)
def padding_crc32(length: int) -> int:
    """CRC-32 of ``length`` bytes of padding (whole blocks by doubling, then the tail)."""
    block = padding_block()
    full, tail = divmod(length, BLOCK_SIZE)
    crc, power, power_len = 0, zlib.crc32(block), BLOCK_SIZE
    while full:
        if full & 1:
            crc = crc32_combine(crc, power, power_len)
        full >>= 1
        if full:
            power = crc32_combine(power, power, power_len)
            power_len *= 2
    return crc32_combine(crc, zlib.crc32(block[:tail]), tail) if tail else crc
