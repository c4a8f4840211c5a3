"""A structural scan of a GDSII stream before it is parsed.

gdstk trusts its input; a hostile or truncated file must be refused with one clear
line instead. This scan walks the record headers only (2-byte length, record type,
data type) and proves: every record length is even, at least 4 and inside the file;
the stream starts with HEADER and BGNLIB, has UNITS with positive finite values, and
ends with ENDLIB; structures and elements are properly opened and closed; XY records
of boundaries hold a sane number of points. It reads nothing else.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from layoutgen.errors import LayoutReadError

HEADER, BGNLIB, LIBNAME, UNITS, ENDLIB = 0x00, 0x01, 0x02, 0x03, 0x04
BGNSTR, STRNAME, ENDSTR = 0x05, 0x06, 0x07
BOUNDARY, PATH, SREF, AREF, TEXT, LAYER, DATATYPE, WIDTH, XY, ENDEL = (
    0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11)
SNAME = 0x12
NODE, BOX = 0x15, 0x2D
ELEMENTS = {BOUNDARY, PATH, SREF, AREF, TEXT, NODE, BOX}
KNOWN_MAX_RECORD = 0x3B


def _real8(b: bytes) -> float:
    """Decode a GDSII 8-byte excess-64 real."""
    if len(b) != 8:
        return float("nan")
    sign = -1.0 if b[0] & 0x80 else 1.0
    exp = (b[0] & 0x7F) - 64
    mant = int.from_bytes(b[1:8], "big") / float(1 << 56)
    return sign * mant * 16.0**exp


def scan_gds(path: Path) -> None:
    """Validate the record structure of a GDSII file.

    Raises:
        LayoutReadError: naming the byte offset and what is wrong.
    """
    data = Path(path).read_bytes()
    n = len(data)
    pos = 0
    first = True
    in_str = False
    in_el = False
    seen_units = False
    ended = False
    unpack = struct.unpack_from
    while pos < n:
        if n - pos < 4:
            if ended and not any(data[pos:]):
                break  # zero padding after ENDLIB
            raise LayoutReadError(f"{path}: truncated GDSII record at byte {pos}")
        length, rtype = unpack(">HB", data, pos)
        if ended:
            if length == 0 and not any(data[pos:]):
                break  # padding
            raise LayoutReadError(f"{path}: data after ENDLIB at byte {pos}")
        if length < 4 or length % 2:
            raise LayoutReadError(f"{path}: malformed GDSII record at byte {pos} "
                                  f"(length {length})")
        if pos + length > n:
            raise LayoutReadError(f"{path}: truncated GDSII file: record at byte {pos} needs "
                                  f"{length} bytes, {n - pos} left")
        if first:
            if rtype != HEADER:
                raise LayoutReadError(f"{path}: GDSII file does not start with a HEADER record")
            first = False
        elif rtype > KNOWN_MAX_RECORD:
            raise LayoutReadError(f"{path}: unknown GDSII record type 0x{rtype:02x} at byte {pos}")
        if rtype == UNITS:
            if length != 20:
                raise LayoutReadError(f"{path}: bad UNITS record at byte {pos}")
            user, meters = _real8(data[pos + 4:pos + 12]), _real8(data[pos + 12:pos + 20])
            if not (math.isfinite(user) and math.isfinite(meters) and user > 0 and meters > 0
                    and 1e-15 < meters < 1):
                raise LayoutReadError(f"{path}: bad database unit in UNITS record "
                                      f"({user!r}, {meters!r})")
            seen_units = True
        elif rtype == BGNSTR:
            if in_str:
                raise LayoutReadError(f"{path}: structure opened inside a structure at byte {pos}")
            if not seen_units:
                raise LayoutReadError(f"{path}: structure before the UNITS record")
            in_str = True
        elif rtype == ENDSTR:
            if not in_str or in_el:
                raise LayoutReadError(f"{path}: unbalanced ENDSTR at byte {pos}")
            in_str = False
        elif rtype in ELEMENTS:
            if not in_str or in_el:
                raise LayoutReadError(f"{path}: element outside a structure or unclosed "
                                      f"element at byte {pos}")
            in_el = True
        elif rtype == ENDEL:
            if not in_el:
                raise LayoutReadError(f"{path}: ENDEL without an element at byte {pos}")
            in_el = False
        elif rtype == XY:
            if not in_el:
                raise LayoutReadError(f"{path}: XY record outside an element at byte {pos}")
            if (length - 4) % 8:
                raise LayoutReadError(f"{path}: XY record at byte {pos} is not a list of points")
        elif rtype == ENDLIB:
            if in_str:
                raise LayoutReadError(f"{path}: ENDLIB inside an open structure")
            ended = True
        pos += length
    if not ended:
        raise LayoutReadError(f"{path}: truncated GDSII file: no ENDLIB record")
