"""Postfix access tables: read, validate, lint, look up and edit them the way Postfix does.

- ``model``: Table (type + path + lines), Line, Pattern; byte-exact ``render()``.
- ``validate``: ``validate()`` -> [Problem], ``checked_content()`` -> bytes or TableError.
- ``lookup``: ``Simulator``, ``postmap_query()``, ``access_lookup()`` -> LookupResult.
- ``lint``: ``lint()`` -> [TableFinding] (a Finding with a proof key).

The submodules ``validate`` and ``lint`` keep their names here (``from pfwizard.tables
import validate`` is the module), so their functions are not re-exported.
"""

from pfwizard.tables.lookup import LookupResult, Simulator, access_lookup, postmap_query
from pfwizard.tables.model import Table, TableError

__all__ = ["LookupResult", "Simulator", "Table", "TableError", "access_lookup", "postmap_query"]
