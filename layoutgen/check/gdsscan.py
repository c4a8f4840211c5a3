"""A structural scan of a GDSII stream before it is parsed.

gdstk trusts its input; a hostile or truncated file must be refused with one clear
line instead. This scan walks the records (2-byte length, record type, data type) and
proves what gdstk relies on without checking it:

* every record length is even, at least 4 and inside the file; the stream starts with
  HEADER, has UNITS (positive, finite) before the first structure and ends with ENDLIB
  (only zero padding may follow);
* structures and elements are properly opened and closed; each structure has exactly
  one STRNAME, right after BGNSTR, and no two structures share a name;
* every record gdstk interprets has the data type and payload size the standard gives
  it (a LAYER record without its number, an XY record of 2-byte integers...);
* each element has the records it needs, in the order gdstk needs them: an XY record
  in every element (one point in SREF and TEXT, three in AREF); a non-empty SNAME in
  SREF and AREF; COLROW (1 to 32767 each way) before an AREF's XY; a PATH's WIDTH and
  an AREF's transformation before their XY (gdstk uses them when it reads the XY);
* no absolute magnification or rotation (STRANS bits gdstk ignores: the geometry
  would be wrong).

The file is read in chunks (never whole), so the scan needs a few MiB whatever the
file's size. It does not look at coordinates.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import BinaryIO

from layoutgen.errors import LayoutReadError

HEADER, BGNLIB, LIBNAME, UNITS, ENDLIB = 0x00, 0x01, 0x02, 0x03, 0x04
BGNSTR, STRNAME, ENDSTR = 0x05, 0x06, 0x07
BOUNDARY, PATH, SREF, AREF, TEXT, LAYER, DATATYPE, WIDTH, XY, ENDEL = (
    0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11)
SNAME, COLROW, TEXTNODE, NODE, TEXTTYPE, PRESENTATION = 0x12, 0x13, 0x14, 0x15, 0x16, 0x17
STRING, STRANS, MAG, ANGLE = 0x19, 0x1A, 0x1B, 0x1C
PATHTYPE, NODETYPE, PROPATTR, PROPVALUE, BOX, BOXTYPE = 0x21, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E
BGNEXTN, ENDEXTN = 0x30, 0x31
ELEMENTS = {BOUNDARY, PATH, SREF, AREF, TEXT, NODE, BOX}
KNOWN_MAX_RECORD = 0x3B

NAMES = {
    HEADER: "HEADER", BGNLIB: "BGNLIB", LIBNAME: "LIBNAME", UNITS: "UNITS", ENDLIB: "ENDLIB",
    BGNSTR: "BGNSTR", STRNAME: "STRNAME", ENDSTR: "ENDSTR", BOUNDARY: "BOUNDARY", PATH: "PATH",
    SREF: "SREF", AREF: "AREF", TEXT: "TEXT", LAYER: "LAYER", DATATYPE: "DATATYPE",
    WIDTH: "WIDTH", XY: "XY", ENDEL: "ENDEL", SNAME: "SNAME", COLROW: "COLROW", NODE: "NODE",
    TEXTTYPE: "TEXTTYPE", PRESENTATION: "PRESENTATION", STRING: "STRING", STRANS: "STRANS",
    MAG: "MAG", ANGLE: "ANGLE", PATHTYPE: "PATHTYPE", NODETYPE: "NODETYPE",
    PROPATTR: "PROPATTR", PROPVALUE: "PROPVALUE", BOX: "BOX", BOXTYPE: "BOXTYPE",
    BGNEXTN: "BGNEXTN", ENDEXTN: "ENDEXTN",
}

# data types: gdstk byte-swaps a payload by its data type (2-byte: bit array or INT2;
# 4-byte: INT4 or REAL4; 8-byte: REAL8; otherwise bytes), then reads it as its record
# type says; the two must agree
_W2, _W4, _W8, _ASCII = frozenset({1, 2}), frozenset({3, 4}), frozenset({5}), frozenset({6})
#: record type -> (allowed data types, payload size: exact bytes, or None for "any")
RECORD_FORMAT: dict[int, tuple[frozenset[int], int | None]] = {
    UNITS: (_W8, 16),
    STRNAME: (_ASCII, None), SNAME: (_ASCII, None), STRING: (_ASCII, None),
    PROPVALUE: (_ASCII, None), LIBNAME: (_ASCII, None),
    LAYER: (_W2, 2), DATATYPE: (_W2, 2), TEXTTYPE: (_W2, 2), BOXTYPE: (_W2, 2),
    NODETYPE: (_W2, 2), PATHTYPE: (_W2, 2), PRESENTATION: (_W2, 2), STRANS: (_W2, 2),
    PROPATTR: (_W2, 2), COLROW: (_W2, 4),
    WIDTH: (_W4, 4), BGNEXTN: (_W4, 4), ENDEXTN: (_W4, 4), XY: (_W4, None),
    MAG: (_W8, 8), ANGLE: (_W8, 8),
}

#: bytes read from the file at a time
CHUNK = 4 * 1024**2


def _real8(b: bytes) -> float:
    """Decode a GDSII 8-byte excess-64 real."""
    if len(b) != 8:
        return float("nan")
    sign = -1.0 if b[0] & 0x80 else 1.0
    exp = (b[0] & 0x7F) - 64
    mant = int.from_bytes(b[1:8], "big") / float(1 << 56)
    return sign * mant * 16.0**exp


def _name(rtype: int) -> str:
    return NAMES.get(rtype, f"record 0x{rtype:02x}")


class _Records:
    """The records of a GDSII stream, read in chunks: ``(offset, length, type, data
    type, payload)``, or ``(offset, n, None, None, tail)`` for the last ``n`` < 4 bytes."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh = fh
        self.size = size
        self.buf = b""
        self.at = 0  # file offset of buf[0]
        self.i = 0  # position in buf

    def _fill(self, need: int) -> None:
        if len(self.buf) - self.i >= need:
            return
        rest = self.buf[self.i:]
        self.at += self.i
        self.i = 0
        self.buf = rest + self.fh.read(max(CHUNK, need - len(rest)))

    def next(self) -> tuple[int, int, int | None, int | None, bytes] | None:
        """The next record, or None at the end of the file."""
        self._fill(4)
        pos = self.at + self.i
        left = len(self.buf) - self.i
        if left == 0:
            return None
        if left < 4:
            tail = self.buf[self.i:]
            self.i = len(self.buf)
            return pos, left, None, None, tail
        length, rtype, dtype = struct.unpack_from(">HBB", self.buf, self.i)
        if length < 4 or length % 2:
            return pos, length, rtype, dtype, b""
        self._fill(length)
        payload = self.buf[self.i + 4:self.i + length]
        if len(payload) < length - 4:  # cut short by the end of the file
            return pos, length, rtype, dtype, payload
        self.i += length
        return pos, length, rtype, dtype, payload

    def rest_is_zero(self) -> bool:
        """True when every byte from here to the end of the file is zero."""
        if any(self.buf[self.i:]):
            return False
        self.i = len(self.buf)
        while True:
            chunk = self.fh.read(CHUNK)
            if not chunk:
                return True
            if chunk.count(0) != len(chunk):
                return False


class _Element:
    """What one element has shown so far."""

    def __init__(self, rtype: int, pos: int) -> None:
        self.rtype = rtype
        self.pos = pos
        self.xy = 0  # XY records seen
        self.sname = False
        self.colrow = False
        self.width = False


def scan_gds(path: Path) -> None:
    """Validate the record structure of a GDSII file (see the module docstring).

    Raises:
        LayoutReadError: naming the byte offset (and the cell) and what is wrong.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            size = path.stat().st_size
            _Scan(path, _Records(fh, size), size).run()
    except MemoryError:
        raise LayoutReadError(f"{path}: not enough memory to scan the GDSII file") from None
    except OSError as exc:
        raise LayoutReadError(f"{path}: cannot read: {exc.strerror or exc}") from None


class _Scan:
    """The state machine of one scan."""

    def __init__(self, path: Path, recs: _Records, size: int) -> None:
        self.path = path
        self.recs = recs
        self.size = size
        self.cell: str | None = None  # the open structure's name
        self.el: _Element | None = None  # the open element
        self.names: set[bytes] = set()

    def bad(self, pos: int, what: str) -> LayoutReadError:
        """The error for ``what`` at byte ``pos`` (naming the open cell)."""
        where = f" (in cell {self.cell!r})" if self.cell is not None else ""
        return LayoutReadError(f"{self.path}: {what} at byte {pos}{where}")

    def run(self) -> None:  # noqa: C901 - one state machine
        """Walk every record; raise on the first problem."""
        path, recs = self.path, self.recs
        first = True
        in_str = False
        want_name = False  # BGNSTR seen, STRNAME not yet
        seen_units = False
        ended = False
        while True:
            rec = recs.next()
            if rec is None:
                break
            pos, length, rtype, dtype, payload = rec
            if rtype is None or dtype is None:  # fewer than 4 bytes left
                if ended and not any(payload):
                    break  # zero padding after ENDLIB
                raise LayoutReadError(f"{path}: truncated GDSII record at byte {pos}")
            if ended:
                if length == 0 and not any(payload) and recs.rest_is_zero():
                    break  # padding
                raise LayoutReadError(f"{path}: data after ENDLIB at byte {pos}")
            if length < 4 or length % 2:
                raise self.bad(pos, f"malformed GDSII record (length {length})")
            if len(payload) < length - 4:
                raise LayoutReadError(f"{path}: truncated GDSII file: record at byte {pos} "
                                      f"needs {length} bytes, {self.size - pos} left")
            if first:
                if rtype != HEADER:
                    raise LayoutReadError(f"{path}: GDSII file does not start with a HEADER "
                                          "record")
                first = False
            elif rtype > KNOWN_MAX_RECORD:
                raise self.bad(pos, f"unknown GDSII record type 0x{rtype:02x}")
            self._format(rtype, dtype, pos, payload)
            if want_name and rtype != STRNAME:
                raise self.bad(pos, f"structure without a STRNAME record ({_name(rtype)} "
                                    "follows BGNSTR)")
            if rtype == UNITS:
                user, meters = _real8(payload[:8]), _real8(payload[8:])
                if not (math.isfinite(user) and math.isfinite(meters) and user > 0
                        and meters > 0 and 1e-15 < meters < 1):
                    raise LayoutReadError(f"{path}: bad database unit in UNITS record "
                                          f"({user!r}, {meters!r})")
                seen_units = True
            elif rtype == BGNSTR:
                if in_str:
                    raise self.bad(pos, "structure opened inside a structure")
                if not seen_units:
                    raise LayoutReadError(f"{path}: structure before the UNITS record")
                in_str = want_name = True
            elif rtype == STRNAME:
                if not want_name:
                    raise self.bad(pos, "STRNAME record that does not follow BGNSTR")
                want_name = False
                self._strname(pos, payload)
            elif rtype == ENDSTR:
                if not in_str or self.el is not None:
                    raise self.bad(pos, "unbalanced ENDSTR")
                in_str = False
                self.cell = None
            elif rtype in ELEMENTS:
                if not in_str or self.el is not None:
                    raise self.bad(pos, "element outside a structure or unclosed element")
                self.el = _Element(rtype, pos)
            elif rtype == ENDEL:
                if self.el is None:
                    raise self.bad(pos, "ENDEL without an element")
                self._end_element(self.el)
                self.el = None
            elif rtype == XY:
                if self.el is None:
                    raise self.bad(pos, "XY record outside an element")
                self._xy(self.el, pos, payload)
            elif rtype == ENDLIB:
                if in_str:
                    raise self.bad(pos, "ENDLIB inside an open structure")
                ended = True
            elif self.el is not None:
                self._element_record(self.el, rtype, pos, payload)
        if not ended:
            raise LayoutReadError(f"{path}: truncated GDSII file: no ENDLIB record")

    def _format(self, rtype: int, dtype: int, pos: int, payload: bytes) -> None:
        """The data type and payload size gdstk assumes for ``rtype``."""
        fmt = RECORD_FORMAT.get(rtype)
        if fmt is None:
            return
        types, want = fmt
        if dtype not in types:
            raise self.bad(pos, f"{_name(rtype)} record of data type {dtype} (expected "
                                f"{' or '.join(str(t) for t in sorted(types))})")
        if want is not None and len(payload) != want:
            raise self.bad(pos, f"{_name(rtype)} record holds {len(payload)} bytes, not {want}")

    def _strname(self, pos: int, payload: bytes) -> None:
        """A structure's name: not empty, not used before."""
        raw = payload.rstrip(b"\0")
        if not raw:
            raise self.bad(pos, "empty structure name")
        name = raw.decode("utf-8", "replace")
        if raw in self.names:
            raise self.bad(pos, f"duplicate cell name {name!r}: two structures have it")
        self.names.add(raw)
        self.cell = name

    def _xy(self, el: _Element, pos: int, payload: bytes) -> None:
        """An XY record of ``el``: a whole number of points, as many as it needs."""
        if len(payload) % 8:
            raise self.bad(pos, "XY record is not a list of points")
        points = len(payload) // 8
        kind = _name(el.rtype)
        if el.rtype in (SREF, AREF, TEXT):
            want = 3 if el.rtype == AREF else 1
            if el.xy or points != want:
                raise self.bad(pos, f"{kind} needs one XY record of {want} point"
                                    f"{'s' if want > 1 else ''}, got {points}")
        elif not el.xy and points == 0:
            raise self.bad(pos, f"{kind} with an empty XY record")
        if el.rtype == AREF and not el.colrow:
            raise self.bad(pos, "AREF without COLROW before its XY")
        if el.rtype == PATH and not el.width:
            raise self.bad(pos, "PATH without WIDTH before its XY (its width is undefined)")
        el.xy += 1

    def _element_record(self, el: _Element, rtype: int, pos: int, payload: bytes) -> None:
        """A record inside element ``el`` (other than XY and ENDEL)."""
        if rtype == SNAME and el.rtype in (SREF, AREF):
            if el.sname:
                raise self.bad(pos, f"{_name(el.rtype)} with two SNAME records")
            if not payload.rstrip(b"\0"):
                raise self.bad(pos, f"{_name(el.rtype)} with an empty SNAME")
            el.sname = True
        elif rtype == COLROW and el.rtype == AREF:
            cols, rows = struct.unpack(">hh", payload)
            if not (cols >= 1 and rows >= 1):
                raise self.bad(pos, f"AREF with COLROW {cols} x {rows}; each must be 1 to "
                                    "32767")
            el.colrow = True
        elif rtype == WIDTH and el.rtype == PATH:
            el.width = True
        elif rtype == STRANS and el.rtype in (SREF, AREF):
            if struct.unpack(">H", payload)[0] & 0x0006:
                raise self.bad(pos, "absolute magnification or rotation (STRANS) is not "
                                    "supported")
        if el.xy and ((el.rtype == AREF and rtype in (STRANS, MAG, ANGLE, COLROW))
                      or (el.rtype == PATH and rtype == WIDTH)):
            raise self.bad(pos, f"{_name(rtype)} after the XY of an {_name(el.rtype)} (it "
                                "must come before)")

    def _end_element(self, el: _Element) -> None:
        """ENDEL of ``el``: the element has every record it needs."""
        kind = _name(el.rtype)
        if not el.xy:
            raise self.bad(el.pos, f"{kind} without an XY record")
        if el.rtype in (SREF, AREF) and not el.sname:
            raise self.bad(el.pos, f"{kind} without an SNAME record")
