"""master.cf in validation: can Postfix read the new file, do the maps its changed ``-o``
options name open, and which services will the serving check ask after the reload?

Postfix is the judge: ``postconf -P`` parses the whole master.cf the way master does (a
broken entry is a fatal error, and master would die on it at the next reload), and lists every
``-o`` override as ``service/type/option = value``.  Comparing the staged list with the live
one gives the overrides the change sets.  ``postfix check`` does not look inside ``-o``
values: an unsupported map type in ``authclean``'s ``header_checks`` passes it and the reload,
and only shows when mail goes through that cleanup, so each map such a value names is opened
once with ``postmap -q``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pfwizard.postfix import Result

# Options whose values are lists of lookup tables ("type:name").
_MAP_OPTION = re.compile(r"(_checks|_maps)$")
# Map types that talk to a server: a probe could hang or need the server up.  Not probed.
_NETWORK_TYPES = {"proxy", "ldap", "mysql", "pgsql", "memcache", "socketmap", "tcp"}
_MAP_REF = re.compile(r"([a-z][a-z0-9_]*):(\S+)")


def overrides(res: Result) -> dict[str, str]:
    """``postconf -P`` output → ``{"service/type/option": value}``."""
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        # An empty value prints as "name =" (no space after the sign).
        key, sep, value = line.partition(" =")
        if sep:
            out[key.strip()] = value.strip()
    return out


def changed(staged: dict[str, str], live: dict[str, str]) -> dict[str, str]:
    """Overrides the staged master.cf sets that the live one does not (or not so)."""
    return {k: v for k, v in staged.items() if live.get(k) != v}


def map_refs(options: dict[str, str]) -> list[str]:
    """``type:name`` lookup tables named by map-valued options, in order, once each."""
    refs: list[str] = []
    for key, value in options.items():
        if not _MAP_OPTION.search(key.rsplit("/", 1)[-1]):
            continue
        for word in re.split(r"[\s,]+", value):
            m = _MAP_REF.fullmatch(word)
            # Files only (absolute paths): inline:{...} and server maps are not opened here.
            if (
                m
                and m.group(2).startswith("/")
                and m.group(1) not in _NETWORK_TYPES
                and word not in refs
            ):
                refs.append(word)
    return refs


@dataclass(frozen=True)
class ChangedService:
    """A master.cf service the new file adds or changes, as ``postconf -M`` lists it."""

    name: str
    type: str
    private: str
    command: str
    args: tuple[str, ...]

    @property
    def cleanup_socket(self) -> str | None:
        """``public/authclean``-style socket (relative to the queue directory) of a cleanup
        service: the private column "n" puts it in public/, anything else in private/."""
        if self.type != "unix" or self.command != "cleanup":
            return None
        return f"{'public' if self.private == 'n' else 'private'}/{self.name}"

    @property
    def plain_smtpd(self) -> bool:
        """An smtpd listening on TCP that greets in plain text (not smtps: wrapper mode
        speaks TLS first, so the SMTP probe cannot ask it)."""
        return (
            self.type == "inet"
            and self.command == "smtpd"
            and "smtpd_tls_wrappermode=yes" not in self.args
        )


def changed_services(
    staged: Result, live: Result, unstage: Callable[[str], str]
) -> list[ChangedService]:
    """The services the new master.cf adds or changes, from ``postconf -M`` of the staged
    copy and of the live directory (one normalised line per service)."""
    before = {unstage(line) for line in live.stdout.splitlines()} if live.ok else set()
    out = []
    for line in staged.stdout.splitlines() if staged.ok else []:
        f = line.split()
        if unstage(line) in before or len(f) < 8:
            continue
        out.append(ChangedService(f[0], f[1], f[2], f[7], tuple(f[8:])))
    return out
