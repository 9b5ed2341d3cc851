"""Reading the CSV sources from files: the I/O half of `streamproc.core.parsing`.

The rules (header, fields, rows, quoting, rejections) are the pure core's; this module only
gets lines to them, fast: it opens the file, decompresses gzip (detected by its magic bytes,
so `.csv.gz` works whatever the name) in a helper thread, reads a block at a time and splits
the blocks into lines. A line too long to hold is never held: it becomes a `LongLine`.

Sources (`iter_polls`, `iter_hours`, `iter_timezones`, `iter_special_hours`) are

* a path (`str` or `os.PathLike`) to a `.csv` or gzip-compressed file, read in binary and
  decoded per line;
* or an iterable of lines (`bytes` or `str`, with or without their line terminator), the
  first being the header, passed through `parsing.decode_lines` (a caller tailing a growing
  file passes a generator that blocks for the next line).
"""

from __future__ import annotations

import gzip
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import BinaryIO

from streamproc.core.parsing import (
    BOM_BYTES,
    HOURS,
    MAX_LINE_CHARS,
    POLLS,
    RAW_LIMIT,
    SPECIAL,
    TIMEZONES,
    Line,
    LongLine,
    decode_line,
    decode_lines,
    iter_records,
)
from streamproc.core.records import (
    HoursRow,
    Poll,
    Rejection,
    SpecialRow,
    TimezoneRow,
    split_records,
)

Source = str | os.PathLike[str] | Iterable[bytes] | Iterable[str]

_READ_BLOCK = 1 << 20
_HOLD_LIMIT = max(_READ_BLOCK, MAX_LINE_CHARS)  # bytes of one unfinished line held, at most
_PREFETCH = 4  # decompressed blocks read ahead
_GZIP_MAGIC = b"\x1f\x8b"

_Item = bytes | BaseException | None  # what the gunzip thread hands over: data, error, end


# --------------------------------------------------------------------------- blocks


def _read_blocks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The file's bytes, a block at a time; gzip (by magic bytes) is decompressed."""
    with open(path, "rb") as raw:
        if raw.peek(2)[:2] != _GZIP_MAGIC:
            while block := raw.read(_READ_BLOCK):
                yield block
        else:
            yield from _gunzip_blocks(raw, os.fspath(path))


def _gunzip_blocks(raw: BinaryIO, name: str) -> Iterator[bytes]:
    """Decompressed blocks of `raw`, decompressed in a helper thread (zlib releases the GIL, so
    it overlaps with parsing); at most `_PREFETCH` blocks ahead. Closing the generator stops
    the thread."""
    unzip = gzip.GzipFile(fileobj=raw, mode="rb")
    blocks: queue.Queue[_Item] = queue.Queue(_PREFETCH)
    stop = threading.Event()
    thread = threading.Thread(
        target=_pump, args=(unzip, blocks, stop), name=f"gunzip {name}", daemon=True
    )
    thread.start()
    try:
        while (item := blocks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        unzip.close()


def _pump(unzip: gzip.GzipFile, blocks: queue.Queue[_Item], stop: threading.Event) -> None:
    """The gunzip thread: blocks into `blocks`, then None at the end, or the exception that
    stopped it (re-raised by the reading side); gives up as soon as `stop` is set."""
    item: _Item
    try:
        while not stop.is_set():
            item = unzip.read(_READ_BLOCK)
            if not item or not _put(blocks, item, stop):
                break
        item = None
    except BaseException as exc:  # handed to the reading thread
        item = exc
    _put(blocks, item, stop)


def _put(blocks: queue.Queue[_Item], item: _Item, stop: threading.Event) -> bool:
    """Put `item` unless `stop` is set first (the reader went away); whether it was put."""
    while not stop.is_set():
        try:
            blocks.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False


# --------------------------------------------------------------------------- lines


def _decode_block(body: bytes) -> list[str | bytes]:
    """Newline-separated lines (no trailing newline) -> str lines, or bytes where not UTF-8.

    One decode for the whole block when it is all UTF-8 (the usual case: much faster than a
    decode per line); line by line otherwise, so one bad line rejects only itself.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [decode_line(part) for part in body.split(b"\n")]
    lines: list[str | bytes] = list(text.split("\n"))
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]  # type: ignore[union-attr]
    return lines


def _block_lines(blocks: Iterable[bytes]) -> Iterator[list[Line]]:
    """Lists of physical lines of a byte stream given in blocks: a leading BOM removed, a line
    cut by a block boundary joined, and a line longer than `_HOLD_LIMIT` kept only as a
    `LongLine` (so a 10 MB line is never in memory)."""
    tail = b""
    first = True
    skipping: LongLine | None = None  # the current line is too long to hold
    for data in blocks:
        block = data
        if first:
            if block.startswith(BOM_BYTES):
                block = block[len(BOM_BYTES) :]
            first = False
        if skipping is not None:
            cut = block.find(b"\n")
            if cut < 0:
                skipping = LongLine(skipping.head, skipping.size + len(block))
                continue
            yield [LongLine(skipping.head, skipping.size + cut)]
            skipping = None
            block = block[cut + 1 :]
        elif tail:
            block = tail + block
        cut = block.rfind(b"\n")
        if cut < 0:
            if len(block) > _HOLD_LIMIT:
                skipping = LongLine(block[: RAW_LIMIT * 4], len(block))
                tail = b""
            else:
                tail = block
            continue
        tail = block[cut + 1 :]
        yield _decode_block(block[:cut])
    if skipping is not None:
        yield [skipping]
    elif tail:
        yield [decode_line(tail)]


def open_lines(path: str | os.PathLike[str]) -> Iterator[Line]:
    """Physical lines of a `.csv` or `.csv.gz` file: str without the line terminator, or the
    raw bytes for a line that is not valid UTF-8 (a line too long to hold: a `LongLine`).
    A leading BOM is removed."""
    return chain.from_iterable(_block_lines(_read_blocks(path)))


def _lines_of(source: Source) -> Iterator[Line]:
    """The lines of a source (see the module docstring): a file's, or the given ones decoded."""
    if isinstance(source, str | os.PathLike):
        return open_lines(source)
    if isinstance(source, bytes | bytearray):
        raise TypeError("source must be a path or an iterable of lines, not bytes")
    return decode_lines(source)


# --------------------------------------------------------------------------- records


def iter_polls(source: Source, *, name: str | None = None) -> Iterator[Poll | Rejection]:
    """`(store_id, ts_us, active)` records and Rejections of a polls CSV."""
    return iter_records(POLLS, _lines_of(source), name)


def iter_hours(source: Source, *, name: str | None = None) -> Iterator[HoursRow | Rejection]:
    """`(store_id, day, start_us, end_us)` records and Rejections of a business-hours CSV."""
    return iter_records(HOURS, _lines_of(source), name)


def iter_timezones(source: Source, *, name: str | None = None) -> Iterator[TimezoneRow | Rejection]:
    """`(store_id, tz)` records and Rejections of a time zones CSV."""
    return iter_records(TIMEZONES, _lines_of(source), name)


def iter_special_hours(
    source: Source, *, name: str | None = None
) -> Iterator[SpecialRow | Rejection]:
    """`(store_id, day, start_us, end_us)` records and Rejections of a special-hours CSV;
    `day` is the local date as days since 1970-01-01, times are `hours.CLOSED` when closed."""
    return iter_records(SPECIAL, _lines_of(source), name)


def iter_polls_chunks(
    source: Source, chunk_rows: int = 100_000, *, name: str | None = None
) -> Iterator[tuple[list[Poll], list[Rejection]]]:
    """`iter_polls` in batches: (records, rejections) per `chunk_rows` records and rejections
    (blank lines do not count), so a big file is never held whole."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    items = iter_polls(source, name=name)
    while chunk := list(islice(items, chunk_rows)):
        yield split_records(chunk)
