"""gosplan: an open engine for planning whole economies.

Importing gosplan touches no solver, database or GPU; the heavy parts are
imported by the functions that need them.
"""

from gosplan.economy import Economy
from gosplan.errors import GosplanError

__version__ = "0.1.0"

__all__ = ["Economy", "GosplanError", "__version__"]
