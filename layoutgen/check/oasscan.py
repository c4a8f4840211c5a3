"""A structural scan of an OASIS file (SEMI P39) before it is parsed.

gdstk stops reading at the first END record it meets and trusts every byte before
it, so a file cut short can look whole: when the byte 256 before the cut end happens
to be 2 (END's record id), a "tail" that parses as an END record is found where none
was written. This scan walks every record from START on, as a reader must (field by
field, as each record's info byte says), and proves:

* the file starts with the magic and a START record (version 1.0, a unit, table
  offsets), and holds exactly one START;
* every record id is known and every record lies whole inside the file; CBLOCKs are
  skipped by their compressed size (gdstk inflates them in a forked probe, under a
  memory limit), their compression type and announced sizes must be sane;
* the END record is the last record: it starts exactly 256 bytes before the end of
  the file and its padding and validation scheme end at the last byte;
* a CRC-32 or checksum-32 validation signature, when the writer gave one, matches.

It looks at no coordinate and keeps nothing: its memory is the memory map of the file.
"""

from __future__ import annotations

import mmap
import zlib
from pathlib import Path

from layoutgen.errors import LayoutReadError

OAS_MAGIC = b"%SEMI-OASIS\r\n"
#: record ids
PAD, START, END, CELL_REF, CELL_NAME, PLACEMENT, PLACEMENT_MAG = 0, 1, 2, 13, 14, 17, 18
CBLOCK = 34
#: a CBLOCK may announce at most this many uncompressed bytes
MAX_CBLOCK_BYTES = 1 << 32


class _Truncated(Exception):
    """A field runs past the end of the file."""


class _Bad(Exception):
    """A field holds an impossible value."""


class _Walker:
    """Reads OASIS fields from a byte buffer at position ``p``."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self.d = data
        self.n = len(data)
        self.p = 0

    def byte(self) -> int:
        """One byte."""
        if self.p >= self.n:
            raise _Truncated
        b = self.d[self.p]
        self.p += 1
        return b

    def uint(self) -> int:
        """An unsigned integer (7 bits a byte, low first; no length cap: writers may pad
        a number with 0x80 bytes)."""
        d, p, n = self.d, self.p, self.n
        if p >= n:
            raise _Truncated
        b = d[p]
        p += 1
        if b < 0x80:
            self.p = p
            return b
        value = b & 0x7F
        shift = 7
        while True:
            if p >= n:
                raise _Truncated
            b = d[p]
            p += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                self.p = p
                return value

    def skip(self, k: int) -> None:
        """Skip ``k`` bytes."""
        if k > self.n - self.p:
            raise _Truncated
        self.p += k

    def string(self) -> None:
        """A string (length, bytes)."""
        self.skip(self.uint())

    def real(self) -> None:
        """A real (type 0..7 and its data)."""
        self.real_of(self.uint())

    def real_of(self, kind: int) -> None:
        """The data of a real of type ``kind``."""
        if kind <= 3:
            self.uint()
        elif kind <= 5:
            self.uint()
            self.uint()
        elif kind == 6:
            self.skip(4)
        elif kind == 7:
            self.skip(8)
        else:
            raise _Bad(f"unknown real type {kind}")

    def gdelta(self) -> None:
        """A g-delta (one or two numbers)."""
        if self.uint() & 1:
            self.uint()

    def count(self, k: int) -> int:
        """``k`` fields follow, each at least one byte: refuse at once what cannot fit."""
        if k > self.n - self.p:
            raise _Truncated
        return k

    def repetition(self) -> None:
        """A repetition (types 0..11)."""
        kind = self.uint()
        if kind == 0:
            return
        if kind == 1:
            for _ in range(4):
                self.uint()
        elif kind in (2, 3):
            self.uint()
            self.uint()
        elif kind in (4, 6):
            for _ in range(self.count(self.uint() + 1)):
                self.uint()
        elif kind in (5, 7):
            k = self.uint()
            self.uint()
            for _ in range(self.count(k + 1)):
                self.uint()
        elif kind == 8:
            self.uint()
            self.uint()
            self.gdelta()
            self.gdelta()
        elif kind == 9:
            self.uint()
            self.gdelta()
        elif kind in (10, 11):
            k = self.uint()
            if kind == 11:
                self.uint()
            for _ in range(self.count(k + 1)):
                self.gdelta()
        else:
            raise _Bad(f"unknown repetition type {kind}")

    def point_list(self) -> None:
        """A point list (types 0..5)."""
        kind = self.uint()
        k = self.count(self.uint())
        if kind in (0, 1, 2, 3):
            for _ in range(k):
                self.uint()
        elif kind in (4, 5):
            for _ in range(k):
                self.gdelta()
        else:
            raise _Bad(f"unknown point-list type {kind}")

    def interval(self) -> None:
        """An interval (types 0..4)."""
        kind = self.uint()
        if kind in (1, 2, 3):
            self.uint()
        elif kind == 4:
            self.uint()
            self.uint()
        elif kind:
            raise _Bad(f"unknown interval type {kind}")

    def property_value(self) -> None:
        """One property value (types 0..15)."""
        kind = self.uint()
        if kind <= 7:
            self.real_of(kind)
        elif kind in (8, 9, 13, 14, 15):
            self.uint()
        elif kind in (10, 11, 12):
            self.string()
        else:
            raise _Bad(f"unknown property value type {kind}")

    def shape_tail(self, info: int) -> None:
        """x (bit 4), y (bit 3), repetition (bit 2) of a geometry record."""
        if info & 0x10:
            self.uint()
        if info & 0x08:
            self.uint()
        if info & 0x04:
            self.repetition()

    def layer_datatype(self, info: int) -> None:
        """layer (bit 0) and datatype (bit 1) of a geometry record."""
        if info & 0x01:
            self.uint()
        if info & 0x02:
            self.uint()

    def record(self, rid: int) -> None:  # noqa: C901 - one branch per record type
        """The fields of one record (its id already read), START and END excepted."""
        if rid in (PAD, 15, 16, 29):  # PAD, XYABSOLUTE, XYRELATIVE, PROPERTY repeat
            return
        if rid in (3, 5, 7, 9, 14):  # names by implicit number; CELL by name
            self.string()
        elif rid in (4, 6, 8, 10):  # names with an explicit number
            self.string()
            self.uint()
        elif rid in (11, 12):  # LAYERNAME
            self.string()
            self.interval()
            self.interval()
        elif rid == CELL_REF:
            self.uint()
        elif rid in (PLACEMENT, PLACEMENT_MAG):
            info = self.byte()
            if info & 0x80:
                if info & 0x40:
                    self.uint()
                else:
                    self.string()
            if rid == PLACEMENT_MAG:
                if info & 0x04:
                    self.real()
                if info & 0x02:
                    self.real()
            self.shape_tail(info >> 1)  # x, y, repetition one bit higher than in shapes
        elif rid == 19:  # TEXT
            info = self.byte()
            if info & 0x40:
                if info & 0x20:
                    self.uint()
                else:
                    self.string()
            if info & 0x01:
                self.uint()
            if info & 0x02:
                self.uint()
            self.shape_tail(info)
        elif rid == 20:  # RECTANGLE
            info = self.byte()
            self.layer_datatype(info)
            if info & 0x40:
                self.uint()
            if info & 0x20:
                self.uint()
            self.shape_tail(info)
        elif rid == 21:  # POLYGON
            info = self.byte()
            self.layer_datatype(info)
            if info & 0x20:
                self.point_list()
            self.shape_tail(info)
        elif rid == 22:  # PATH
            info = self.byte()
            self.layer_datatype(info)
            if info & 0x40:
                self.uint()
            if info & 0x80:
                scheme = self.uint()
                if scheme & 0x0C == 0x0C:
                    self.uint()
                if scheme & 0x03 == 0x03:
                    self.uint()
            if info & 0x20:
                self.point_list()
            self.shape_tail(info)
        elif rid in (23, 24, 25):  # TRAPEZOID
            info = self.byte()
            self.layer_datatype(info)
            if info & 0x40:
                self.uint()
            if info & 0x20:
                self.uint()
            if rid in (23, 24):
                self.uint()
            if rid in (23, 25):
                self.uint()
            self.shape_tail(info)
        elif rid == 26:  # CTRAPEZOID
            info = self.byte()
            self.layer_datatype(info)
            for bit in (0x80, 0x40, 0x20):
                if info & bit:
                    self.uint()
            self.shape_tail(info)
        elif rid == 27:  # CIRCLE
            info = self.byte()
            self.layer_datatype(info)
            if info & 0x20:
                self.uint()
            self.shape_tail(info)
        elif rid == 28:  # PROPERTY
            info = self.byte()
            if info & 0x04:
                if info & 0x02:
                    self.uint()
                else:
                    self.string()
            if not info & 0x08:
                k = info >> 4
                if k == 15:
                    k = self.uint()
                for _ in range(self.count(k)):
                    self.property_value()
        elif rid in (30, 31):  # XNAME
            self.uint()
            self.string()
            if rid == 31:
                self.uint()
        elif rid == 32:  # XELEMENT
            self.uint()
            self.string()
        elif rid == 33:  # XGEOMETRY
            info = self.byte()
            self.uint()
            self.layer_datatype(info)
            self.string()
            self.shape_tail(info)
        elif rid == CBLOCK:
            method = self.uint()
            if method != 0:
                raise _Bad(f"CBLOCK of unknown compression type {method}")
            size = self.uint()
            packed = self.uint()
            if size > MAX_CBLOCK_BYTES:
                raise _Bad(f"CBLOCK announces {size} bytes, over the limit of "
                           f"{MAX_CBLOCK_BYTES}")
            self.skip(packed)
        else:
            raise _Bad(f"unknown record id {rid}")


def scan_oasis(path: Path) -> None:
    """Validate the record structure of an OASIS file (see the module docstring).

    Raises:
        LayoutReadError: one line naming the byte offset and what is wrong.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            size = path.stat().st_size
            if size < len(OAS_MAGIC) + 256:
                raise LayoutReadError(f"{path}: truncated OASIS file (no END record)")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                _scan(path, data)
    except (MemoryError, ValueError, OverflowError):
        raise LayoutReadError(f"{path}: not enough memory to scan the OASIS file") from None
    except OSError as exc:
        raise LayoutReadError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _scan(path: Path, data: mmap.mmap) -> None:
    size = len(data)
    w = _Walker(data)
    w.p = len(OAS_MAGIC)
    at = w.p
    try:
        if w.uint() != START:
            raise LayoutReadError(f"{path}: malformed OASIS file (no START record)")
        n = w.uint()
        version = bytes(data[w.p:w.p + n])
        w.skip(n)
        if version != b"1.0":
            raise LayoutReadError(f"{path}: OASIS version {version!r} is not supported "
                                  "(only 1.0)")
        w.real()
        offset_flag = w.uint()
        if offset_flag not in (0, 1):
            raise _Bad(f"START record with offset flag {offset_flag}")
        if offset_flag == 0:
            _tables(w)
        while True:
            at = w.p
            rid = w.uint()
            if rid == END:
                break
            if rid == START:
                raise _Bad("a second START record")
            w.record(rid)
        if at != size - 256:
            raise LayoutReadError(
                f"{path}: truncated or malformed OASIS file: its END record starts at byte "
                f"{at}, {size - at} bytes before the end of the file, not 256")
        if offset_flag == 1:
            _tables(w)
        w.string()  # padding
        scheme = w.uint()
        if scheme in (1, 2):
            stop = w.p
            w.skip(4)
            _validate(path, data, scheme, stop)
        elif scheme != 0:
            raise _Bad(f"unknown validation scheme {scheme}")
        if w.p != size:
            raise LayoutReadError(f"{path}: malformed OASIS file: the END record does not end "
                                  "at the end of the file")
    except _Truncated:
        raise LayoutReadError(f"{path}: truncated OASIS file: the record at byte {at} runs "
                              "past the end of the file") from None
    except _Bad as exc:
        raise LayoutReadError(f"{path}: malformed OASIS file: {exc} (record at byte {at})"
                              ) from None


def _tables(w: _Walker) -> None:
    """The six (flag, offset) pairs of the name tables."""
    for _ in range(6):
        flag = w.uint()
        if flag not in (0, 1):
            raise _Bad(f"table flag {flag}")
        w.uint()


def _validate(path: Path, data: mmap.mmap, scheme: int, stop: int) -> None:
    """Compare the validation signature (CRC-32 or byte sum, over every byte before it)."""
    want = int.from_bytes(data[stop:stop + 4], "little")
    got = 0
    step = 1 << 24
    for i in range(0, stop, step):
        chunk = data[i:min(stop, i + step)]
        got = zlib.crc32(chunk, got) if scheme == 1 else (got + sum(chunk)) & 0xFFFFFFFF
    if got != want:
        name = "CRC-32" if scheme == 1 else "checksum-32"
        raise LayoutReadError(f"{path}: corrupt OASIS file: its {name} signature does not match "
                              "its bytes")
