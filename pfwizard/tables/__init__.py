"""Postfix access tables: read, validate, lint, look up and edit them the way Postfix does.

- ``model``: Table (type + path + lines), Line, Pattern; byte-exact ``render()``.
- ``validate``: ``validate()`` -> [Problem], ``checked_content()`` -> bytes or TableError.
- ``lookup``: ``Simulator``, ``postmap_query()``, ``access_lookup()`` -> LookupResult.
- ``lint``: ``lint()`` -> [TableFinding] (a Finding with a proof key).
- ``edit``: ``add_entry/replace_entry/remove_entry`` (new Table), ``validate_path()``.
"""

from pfwizard.tables.edit import add_entry, remove_entry, replace_entry, validate_path
from pfwizard.tables.lint import TableFinding, lint
from pfwizard.tables.lookup import LookupResult, Simulator, access_lookup, postmap_query
from pfwizard.tables.model import Table, TableError
from pfwizard.tables.validate import Problem, checked_content, validate

__all__ = [
    "LookupResult", "Problem", "Simulator", "Table", "TableError", "TableFinding",
    "access_lookup", "add_entry", "checked_content", "lint", "postmap_query", "remove_entry",
    "replace_entry", "validate", "validate_path",
]
