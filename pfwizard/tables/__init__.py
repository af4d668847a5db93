"""Postfix access tables: read, validate, lint, look up and edit them the way Postfix does.

- ``model``: Table (type + path + lines), Line, Pattern; byte-exact ``render()``.
- ``validate``: ``validate()`` -> [Problem], ``checked_content()`` -> bytes or TableError.
- ``lookup``: ``Simulator``, ``postmap_query()``, ``access_lookup()`` -> LookupResult.
- ``lint``: ``lint()`` -> [TableFinding] (a Finding with a proof key).

The submodules ``validate`` and ``lint`` keep their names here (``from pfwizard.tables
import validate`` is the module), so their functions are not re-exported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pfwizard.tables.lookup import LookupResult, Simulator, access_lookup, postmap_query
    from pfwizard.tables.model import Table, TableError

__all__ = ["LookupResult", "Simulator", "Table", "TableError", "access_lookup", "postmap_query"]

# Loaded on first use, not with the package: ``status`` reads a table's kept lint
# (pfwizard.memo) and needs neither the simulator nor postmap's drivers.
_HOME = {
    "LookupResult": "lookup",
    "Simulator": "lookup",
    "access_lookup": "lookup",
    "postmap_query": "lookup",
    "Table": "model",
    "TableError": "model",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
