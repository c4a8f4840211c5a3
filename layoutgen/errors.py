"""Error types of layoutgen.

Every error a user can cause derives from :class:`LayoutgenError`; the CLI turns
each into one line on stderr and exit status 2. Nothing else is caught there, so
a bug still shows its traceback.
"""

from __future__ import annotations


class LayoutgenError(Exception):
    """Base class of every error caused by the user's input."""


class ParameterError(LayoutgenError, ValueError):
    """A parameter is missing, of the wrong type or out of its allowed range.

    Attributes:
        key: dotted key path of the parameter (``seal.width``), or its name.
        value: the value that was given.
        allowed: the allowed range in words (``> 0 µm``).
        message: the message without the key (``must be > 0 µm, got -5``).
    """

    def __init__(self, key: str, message: str, value: object = None, allowed: str = "") -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        self.message = message
        super().__init__(f"{key}: {message}")


class SpecError(LayoutgenError):
    """A product spec or layer map file cannot be read or parsed."""


class LayoutReadError(LayoutgenError):
    """A layout file (GDS/OASIS) is unusable: unreadable, malformed or hostile."""


class RoutingError(LayoutgenError):
    """The RDL router cannot wire the named nets without a short."""
