"""Errors a user can cause.

Every error names the culprit (file, row, column, product, activity, factor or
constraint) and says what to do, so that a planner who feeds gosplan a bad table
learns where to look without reading a traceback.
"""

from __future__ import annotations


class GosplanError(Exception):
    """Base class of every error a user of gosplan can cause."""


class SchemaError(GosplanError, ValueError):
    """Input data has the wrong shape, labels, types or values."""


class DuplicateIdError(SchemaError):
    """An id (product, activity, factor, region) appears more than once."""


class UnknownIdError(SchemaError, KeyError):
    """An id is referred to that the economy does not define."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class BalanceError(SchemaError):
    """A flow table's rows or columns do not add up to its totals."""


class UnproductiveError(GosplanError):
    """The economy cannot produce a positive net output (spectral radius of A >= 1)."""

    def __init__(self, message: str, blocks: list[list[str]] | None = None, radius: float | None = None):
        super().__init__(message)
        self.blocks = blocks or []
        self.radius = radius


class SourceError(GosplanError):
    """A file cannot be read or written in the format gosplan expects."""


class ConvergenceError(GosplanError):
    """An iterative method did not reach its tolerance."""


class MissingDependencyError(GosplanError, ImportError):
    """An optional engine is not installed; the message names the extra to install."""


def require(module: str, extra: str):
    """Import an optional dependency or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed here but not installed: pip install 'gosplan[{extra}]'"
        ) from exc
