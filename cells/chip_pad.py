"""The chip pad stack (seed 004, claims 1, 10, 13, 17): both dielectrics expose the pad.

Top view and section, all squares centred on the origin::

    +---------------------------+  RDL cover: the larger dielectric opening
    |  +---------------------+  |             grown by rdl_enclosure
    |  | PAD (top metal)     |  |
    |  |  +---------------+  |  |  PASSIVATION opening: PAD less passivation_enclosure
    |  |  | +-----------+ |  |  |  PI1 opening: PAD less pi1_enclosure
    |  |  | | PI1 = PI2 | |  |  |  PI2 opening: PI1 opening grown by pi2_margin
    |  |  | +-----------+ |  |  |
    |  |  +---------------+  |  |  the pad is exposed where all three openings overlap
    |  +---------------------+  |
    +---------------------------+

Dielectrics are drawn as openings (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import gdstk

from layoutgen.errors import ParameterError
from layoutgen.geometry import centered_rect
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = ["ChipPadSizes", "chip_pad", "chip_pad_sizes"]


@dataclass(frozen=True)
class ChipPadSizes:
    """Edge lengths (µm) of the squares of one chip pad stack.

    Attributes:
        pad: PAD metal.
        passivation: PASSIVATION opening.
        pi1: PI1 opening.
        pi2: PI2 opening.
        rdl: RDL cover.
    """

    pad: float
    passivation: float
    pi1: float
    pi2: float
    rdl: float

    @property
    def exposed(self) -> float:
        """Edge of the square where PASSIVATION, PI1 and PI2 all open the pad, µm."""
        return min(self.pad, self.passivation, self.pi1, self.pi2)


def chip_pad_sizes(pad_size: float, passivation_enclosure: float, pi1_enclosure: float,
                   pi2_margin: float, rdl_enclosure: float, key: str = "chip_pads"
                   ) -> ChipPadSizes:
    """The squares' sizes, or ParameterError naming the parameter that leaves none.

    Args:
        pad_size: PAD edge, µm.
        passivation_enclosure: PAD encloses the passivation opening by this, µm.
        pi1_enclosure: PAD encloses the PI1 opening by this, µm.
        pi2_margin: the PI2 opening is the PI1 opening grown by this on each side, µm.
        rdl_enclosure: the RDL cover encloses both dielectric openings by this, µm.
        key: key path prefix for errors.

    Raises:
        ParameterError: a value that is not a finite number, a size <= 0, an enclosure
            < 0, or a combination that leaves no opening.
    """
    pad_size = Param(f"{key}.size", 0.0, low=0, low_open=True).validate(pad_size)
    passivation_enclosure = Param(f"{key}.passivation_enclosure", 0.0, low=0).validate(
        passivation_enclosure)
    pi1_enclosure = Param(f"{key}.pi1_enclosure", 0.0, low=0).validate(pi1_enclosure)
    pi2_margin = Param(f"{key}.pi2_margin", 0.0).validate(pi2_margin)  # may be negative
    rdl_enclosure = Param(f"{key}.rdl_enclosure", 0.0, low=0).validate(rdl_enclosure)
    pas = pad_size - 2 * passivation_enclosure
    if pas <= 0:
        raise ParameterError(f"{key}.passivation_enclosure",
                             f"leaves no passivation opening on a {pad_size:g} µm pad; must be "
                             f"< {pad_size / 2:g} µm, got {passivation_enclosure:g}",
                             passivation_enclosure, f"< {pad_size / 2:g} µm")
    pi1 = pad_size - 2 * pi1_enclosure
    if pi1 <= 0:
        raise ParameterError(f"{key}.size",
                             f"a {pad_size:g} µm pad enclosing PI1 by {pi1_enclosure:g} µm leaves "
                             f"no PI1 opening; must be > {2 * pi1_enclosure:g} µm", pad_size,
                             f"> {2 * pi1_enclosure:g} µm")
    pi2 = pi1 + 2 * pi2_margin
    if pi2 <= 0:
        raise ParameterError(f"{key}.pi2_margin", f"leaves no PI2 opening; must be > "
                             f"{-pi1 / 2:g} µm, got {pi2_margin:g}", pi2_margin,
                             f"> {-pi1 / 2:g} µm")
    rdl = max(pi1, pi2) + 2 * rdl_enclosure
    return ChipPadSizes(pad_size, pas, pi1, pi2, rdl)


@cell("chip_pad")
def chip_pad(
    pad_size: float = 80.0,
    passivation_enclosure: float = 5.0,
    pi1_enclosure: float = 7.5,
    pi2_margin: float = 0.0,
    rdl_enclosure: float = 10.0,
    layers: LayerMap = DEFAULT_LAYERS,
) -> gdstk.Cell:
    """A chip pad opened by PASSIVATION, PI1 and PI2, with its RDL cover, centred on (0, 0).

    Args:
        pad_size: edge of the square PAD (top metal), µm.
        passivation_enclosure: PAD encloses the passivation opening by this, µm.
        pi1_enclosure: PAD encloses the PI1 opening by this, µm (amkor pi1.3).
        pi2_margin: the PI2 opening is the PI1 opening grown by this per side, µm
            (0: PI2 opens exactly where PI1 does).
        rdl_enclosure: RDL encloses the PI1 and PI2 openings by this, µm (amkor rdl.3).
        layers: layer map.
    """
    s = chip_pad_sizes(pad_size, passivation_enclosure, pi1_enclosure, pi2_margin,
                       rdl_enclosure, key="chip_pad")
    c = gdstk.Cell("chip_pad")
    c.add(centered_rect(0, 0, s.pad, s.pad, **layers.ld("PAD")))
    c.add(centered_rect(0, 0, s.passivation, s.passivation, **layers.ld("PASSIVATION")))
    c.add(centered_rect(0, 0, s.pi1, s.pi1, **layers.ld("PI1")))
    c.add(centered_rect(0, 0, s.pi2, s.pi2, **layers.ld("PI2")))
    c.add(centered_rect(0, 0, s.rdl, s.rdl, **layers.ld("RDL")))
    return c
