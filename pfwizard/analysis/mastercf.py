"""Just enough of master.cf for the analyser: the smtpd services and their ``-o`` overrides,
and the marks Mail-in-a-Box leaves, so findings about logged-in users are right.

The file is read by ``pfwizard.mastercf.MasterCf`` (the one master.cf reader: ``-o name=value``,
``-oname=value`` and ``-o { name = value }`` alike); this module only says what the analyser
needs to know about each service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pfwizard.mastercf import MasterCf


@dataclass(frozen=True)
class Service:
    """A master.cf service as the analyser sees it: its ``-o`` overrides of main.cf."""

    name: str
    type: str
    command: str
    overrides: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def is_smtpd(self) -> bool:
        return self.command == "smtpd" and self.type in ("inet", "pass")

    @property
    def authenticates(self) -> bool:
        """SMTP AUTH is switched on for this service (MiaB's submission and smtps)."""
        return self.overrides.get("smtpd_sasl_auth_enable", "").lower() in ("yes", "true")

    @property
    def label(self) -> str:
        """How an admin finds it: ``the 'smtp' service (master.cf line 12)``."""
        return f"the '{self.name}' service (master.cf line {self.line})"


def from_master(master: MasterCf) -> list[Service]:
    out: list[Service] = []
    for svc in master.services():
        overrides: dict[str, str] = {}
        for name, value in svc.options:
            overrides[name] = value  # the last -o of a name wins, as in Postfix
        out.append(Service(svc.name, svc.type, svc.command, overrides, svc.lineno))
    return out


def services(text: str, path: str = "master.cf") -> list[Service]:
    """Active services of a master.cf text (ConfigError, with the line, when Postfix could
    not read it either: a missing '}', an entry with too few fields)."""
    return from_master(MasterCf.parse(text, path))


MIAB_MAIN_MARKERS = (
    ("smtpd_banner", "Mail-in-a-Box"),
    ("virtual_mailbox_maps", "/etc/postfix/virtual-mailbox-maps.cf"),
    ("smtpd_sender_login_maps", "/etc/postfix/sender-login-maps.cf"),
)


def is_miab(params: Mapping[str, str], master: list[Service] | None) -> bool:
    """A Mail-in-a-Box: its banner or sqlite maps in main.cf, or its authclean service."""
    if any(mark in params.get(name, "") for name, mark in MIAB_MAIN_MARKERS):
        return True
    return master is not None and any(s.name == "authclean" for s in master)
