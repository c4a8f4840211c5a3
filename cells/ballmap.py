"""Ball maps: a rows × columns solder-ball array with JEDEC position names.

Seen from above (the die's own coordinates, the active side up)::

          col 1   2   3  ...
    row A   o   o   o        <- A1 is the top-left ball (largest y, smallest x)
    row B   o   .   o        .  a depopulated position (no ball, no name in use)
    row C   o   o   o
            |<->|
            pitch

Rows are lettered A, B, C, ... skipping I, O, Q, S, X and Z (JEDEC JEP95 / MO
conventions: letters that read like digits or each other); after Y come AA, AB, ...
Columns are numbered from 1. The array is centred on ``center``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layoutgen.errors import ParameterError

__all__ = [
    "ALLOWED_PITCHES",
    "JEDEC_ROW_LETTERS",
    "Ball",
    "BallMap",
    "ball_map",
    "parse_ball_name",
    "row_name",
]

#: ball pitches a ball map may use, µm
ALLOWED_PITCHES = (300.0, 350.0, 400.0, 500.0)
#: the row letters JEDEC allows, in order
JEDEC_ROW_LETTERS = tuple(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "IOQSXZ")

_NAME_RE = re.compile(r"^([A-Z]{1,2})([1-9][0-9]*)$")


def row_name(index: int) -> str:
    """JEDEC name of row ``index`` (0 -> A, 19 -> Y, 20 -> AA, 21 -> AB, ...)."""
    if index < 0:
        raise ValueError(f"row index must be >= 0, got {index}")
    n = len(JEDEC_ROW_LETTERS)
    if index < n:
        return JEDEC_ROW_LETTERS[index]
    index -= n
    if index >= n * n:
        raise ValueError(f"row index {index + n} beyond the two-letter JEDEC names")
    return JEDEC_ROW_LETTERS[index // n] + JEDEC_ROW_LETTERS[index % n]


def _row_index(letters: str) -> int | None:
    n = len(JEDEC_ROW_LETTERS)
    try:
        if len(letters) == 1:
            return JEDEC_ROW_LETTERS.index(letters)
        return n + JEDEC_ROW_LETTERS.index(letters[0]) * n + JEDEC_ROW_LETTERS.index(letters[1])
    except ValueError:
        return None


def parse_ball_name(name: str) -> tuple[int, int] | None:
    """(row index, column index), both from 0, of a JEDEC name like ``B12``; None if invalid."""
    m = _NAME_RE.match(name.strip().upper())
    if not m:
        return None
    r = _row_index(m.group(1))
    if r is None:
        return None
    return r, int(m.group(2)) - 1


@dataclass(frozen=True)
class Ball:
    """One populated ball position.

    Attributes:
        name: JEDEC name (``C4``).
        row: row index from 0 (row A = 0, the top row).
        col: column index from 0 (column 1 = 0, the left column).
        x: centre x, µm.
        y: centre y, µm.
    """

    name: str
    row: int
    col: int
    x: float
    y: float


@dataclass(frozen=True)
class BallMap:
    """A populated ball array.

    Attributes:
        rows: number of rows.
        cols: number of columns.
        pitch: centre-to-centre pitch in x and y, µm.
        balls: the populated balls, in row-major order (A1, A2, ..., B1, ...).
        depopulated: names of the positions left empty, sorted row-major.
    """

    rows: int
    cols: int
    pitch: float
    balls: tuple[Ball, ...]
    depopulated: tuple[str, ...]

    def by_name(self) -> dict[str, Ball]:
        """Name -> ball."""
        return {b.name: b for b in self.balls}

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the ball centres of the full array, µm."""
        hw = (self.cols - 1) * self.pitch / 2
        hh = (self.rows - 1) * self.pitch / 2
        xs = [b.x for b in self.balls]
        ys = [b.y for b in self.balls]
        cx = (min(xs) + max(xs)) / 2 if xs else 0.0
        cy = (min(ys) + max(ys)) / 2 if ys else 0.0
        return (cx - hw, cy - hh, cx + hw, cy + hh)

    def check_on_die(self, die_width: float, die_height: float, min_center_to_edge: float,
                     width_key: str = "die.width", height_key: str = "die.height") -> None:
        """Raise ParameterError when a ball centre is closer than allowed to the die edge.

        Args:
            die_width: die width, µm (the die is centred on the origin).
            die_height: die height, µm.
            min_center_to_edge: least distance from a ball centre to the die edge, µm.
            width_key: key path named when the die is too narrow.
            height_key: key path named when the die is too low.
        """
        need_w = (self.cols - 1) * self.pitch + 2 * min_center_to_edge
        need_h = (self.rows - 1) * self.pitch + 2 * min_center_to_edge
        for key, size, need, axis in ((width_key, die_width, need_w, 0),
                                      (height_key, die_height, need_h, 1)):
            worst = min(((size / 2 - abs((b.x, b.y)[axis]), b) for b in self.balls),
                        key=lambda t: t[0])
            if worst[0] < min_center_to_edge - 1e-9:
                raise ParameterError(
                    key,
                    f"ball {worst[1].name} is off the die: its centre is {worst[0]:g} µm from "
                    f"the die edge, must be >= {min_center_to_edge:g} µm; the {self.rows} × "
                    f"{self.cols} array at {self.pitch:g} µm pitch needs >= {need:g} µm, got "
                    f"{size:g}", size, f">= {need:g} µm")


def ball_map(rows: int, cols: int, pitch: float, depopulated: tuple[str, ...] = (),
             center: tuple[float, float] = (0.0, 0.0), key: str = "balls") -> BallMap:
    """A rows × cols ball array at ``pitch``, centred on ``center``, A1 at the top left.

    Args:
        rows: number of rows, 1..400.
        cols: number of columns, 1..400.
        pitch: ball pitch, µm; one of 300, 350, 400, 500.
        depopulated: JEDEC names of positions without a ball.
        center: centre of the array, µm.
        key: key path prefix used in errors (``balls``).

    Raises:
        ParameterError: bad size or pitch, an invalid or out-of-array depopulated name,
            or every position depopulated.
    """
    if not 1 <= rows <= 400:
        raise ParameterError(f"{key}.rows", f"must be 1..400, got {rows}", rows, "1..400")
    if not 1 <= cols <= 400:
        raise ParameterError(f"{key}.cols", f"must be 1..400, got {cols}", cols, "1..400")
    if float(pitch) not in ALLOWED_PITCHES:
        allowed = ", ".join(f"{p:g}" for p in ALLOWED_PITCHES)
        raise ParameterError(f"{key}.pitch", f"must be one of {allowed} µm, got {pitch!r}",
                             pitch, f"one of {allowed} µm")
    empty: set[tuple[int, int]] = set()
    for name in depopulated:
        rc = parse_ball_name(str(name))
        if rc is None:
            raise ParameterError(f"{key}.depopulate",
                                 f"{name!r} is not a JEDEC ball name (row letters without "
                                 "I, O, Q, S, X, Z, then a column number from 1)", name)
        if rc[0] >= rows or rc[1] >= cols:
            raise ParameterError(f"{key}.depopulate",
                                 f"{name!r} is outside the {rows} × {cols} array "
                                 f"(A1..{row_name(rows - 1)}{cols})", name)
        empty.add(rc)
    balls = []
    for r in range(rows):
        for c in range(cols):
            if (r, c) in empty:
                continue
            x = center[0] + (c - (cols - 1) / 2) * pitch
            y = center[1] + ((rows - 1) / 2 - r) * pitch
            balls.append(Ball(f"{row_name(r)}{c + 1}", r, c, round(x, 3), round(y, 3)))
    if not balls:
        raise ParameterError(f"{key}.depopulate", "every ball position is depopulated",
                             list(depopulated))
    names = tuple(f"{row_name(r)}{c + 1}" for r, c in sorted(empty))
    return BallMap(rows, cols, float(pitch), tuple(balls), names)
