"""Parameters that take lookup tables get lookup tables: a restriction word there stops mail.

``header_checks = permit`` passes ``postfix check`` and a reload, then cleanup dies on its
first message ("expecting type:name") and mail intake stops.  Every ``*_checks`` and ``*_maps``
parameter (main.cf, or a master.cf ``-o`` override) is a list of ``type:table`` (or
``$parameter``): any other word in one this change sets is refused, whatever path the change
came by (wizard, profile, restore, rollback).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from pfwizard.errors import ConfigError
from pfwizard.findings import Finding, Severity
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf

TABLE_LIST_SUFFIXES = ("_checks", "_maps")

CODE = "not-a-table"


def takes_tables(name: str) -> bool:
    return name.endswith(TABLE_LIST_SUFFIXES)


def list_words(value: str) -> Iterator[str]:
    """The items of a Postfix list: separated by commas or white space, ``{...}`` kept whole."""
    word, depth = "", 0
    for c in value:
        if c == "{":
            depth += 1
        elif c == "}" and depth:
            depth -= 1
        if depth == 0 and (c in ", \t\r\n"):
            if word:
                yield word
            word = ""
        else:
            word += c
    if word:
        yield word


def not_tables(value: str) -> list[str]:
    """Words of ``value`` that are neither ``type:table`` nor ``$parameter``."""
    return [
        w
        for w in list_words(value)
        if ":" not in w and not w.startswith("$") and not w.startswith("{")
    ]


def _changed(new: Mapping[str, str | None], old: Mapping[str, str | None]) -> Iterator[str]:
    return (k for k, v in new.items() if v is not None and old.get(k) != v)


def _params(config_dir: Path) -> dict[str, str | None]:
    try:
        return dict(MainCf.read(config_dir / "main.cf").parameters())
    except (ConfigError, OSError):
        return {}  # unreadable: postfix check on the staged copy says why


def _master_options(config_dir: Path) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    try:
        services = MasterCf.of_config_dir(config_dir).services()
    except (ConfigError, OSError):
        return out  # unreadable: postconf -P on the staged copy says why
    for svc in services:
        for name, _value in svc.options:
            out[f"{svc.key}/{name}"] = svc.option(name)
    return out


def _finding(where: str, name: str, bad: list[str]) -> Finding:
    words = ", ".join(repr(w) for w in bad)
    return Finding(
        CODE,
        Severity.DANGER,
        f"{name} takes lookup tables (type:table), not {words}: Postfix would stop "
        "on it when mail arrives (cleanup or smtpd dies, mail is not accepted)",
        parameter=where,
        acceptable=False,
    )


def table_list_findings(new_dir: Path, live_dir: Path) -> list[Finding]:
    """A danger finding for each table-list parameter the change sets to a non-table word
    (compared with the live directory: what the box runs already is not this change's
    doing)."""
    found: list[Finding] = []
    new_p, live_p = _params(new_dir), _params(live_dir)
    for name in _changed(new_p, live_p):
        bad = not_tables(new_p[name] or "") if takes_tables(name) else []
        if bad:
            found.append(_finding(name, name, bad))
    new_m, live_m = _master_options(new_dir), _master_options(live_dir)
    for key in _changed(new_m, live_m):
        option = key.rsplit("/", 1)[-1]
        bad = not_tables(new_m[key] or "") if takes_tables(option) else []
        if bad:
            found.append(_finding(f"master.cf {key}", option, bad))
    return found
