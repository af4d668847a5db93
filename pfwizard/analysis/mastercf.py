"""Just enough of master.cf for the analyser: the smtpd services and their ``-o`` overrides,
and the marks Mail-in-a-Box leaves, so findings about logged-in users are right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
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


def services(text: str) -> list[Service]:
    """Active services; comment lines end nothing (like main.cf) and are skipped."""
    out: list[Service] = []
    current: list[str] | None = None
    start = 0

    def flush() -> None:
        if current is None or len(current) < 8:
            return
        overrides: dict[str, str] = {}
        words = current[8:]
        for i, w in enumerate(words):
            if w == "-o" and i + 1 < len(words) and "=" in words[i + 1]:
                k, _, v = words[i + 1].partition("=")
                overrides[k] = v
            elif w.startswith("-o") and len(w) > 2 and "=" in w:
                k, _, v = w[2:].partition("=")
                overrides[k] = v
        out.append(Service(current[0], current[1], current[7], overrides, start))

    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            if current is not None:
                current.extend(stripped.split())
            continue
        flush()
        current = stripped.split()
        start = n
    flush()
    return out


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
