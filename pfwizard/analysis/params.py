"""Effective parameter values as smtpd sees them: main.cf settings over Postfix 3.6 defaults,
with ``$name`` references expanded the way Postfix expands them when it reads main.cf.

Only the parameters the restriction analysis needs have defaults here; Postfix's own default
expressions (``${{$compatibility_level} <level {1} ? ...}``) are evaluated in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pfwizard.catalogue import LIST_PARAMS

# Postfix 3.6 built-in defaults (mail_params.h) that decide how the restriction lists behave.
_STATIC_DEFAULTS: dict[str, str] = {
    "compatibility_level": "0",
    # Every restriction list is empty by default but the relay list (its default depends on
    # compatibility_level, see below).
    **{p: "" for p in LIST_PARAMS.values() if p != "smtpd_relay_restrictions"},
    "smtpd_restriction_classes": "",
    "smtpd_delay_reject": "yes",
    "smtpd_helo_required": "no",
    "smtpd_milters": "",
    "non_smtpd_milters": "",
    "milter_default_action": "tempfail",
    "smtpd_sasl_auth_enable": "no",
    "parent_domain_matches_subdomains": (
        "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,"
        "qmqpd_authorized_clients,relay_domains,smtpd_access_maps"
    ),
}

_REF_RE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|\(([A-Za-z0-9_]+)\)|([A-Za-z0-9_]+))")


def compat_level(value: str) -> tuple[int, ...]:
    """``3.6`` → (3, 6); anything unparsable counts as level 0 (Postfix's default)."""
    parts: list[int] = []
    for p in value.strip().split("."):
        if not p.isdigit():
            return (0,)
        parts.append(int(p))
    return tuple(parts) or (0,)


def defaults(params: Mapping[str, str]) -> dict[str, str]:
    """Defaults for this configuration (some depend on compatibility_level)."""
    d = dict(_STATIC_DEFAULTS)
    level = compat_level(params.get("compatibility_level", "0"))
    d["smtpd_relay_restrictions"] = (
        ""
        if level < (1,)
        else "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"
    )
    d["mynetworks_style"] = "subnet" if level < (2,) else "host"
    d["relay_domains"] = "$mydestination" if level < (2,) else ""
    d["mydestination"] = "$myhostname, localhost.$mydomain, localhost"
    d["permit_mx_backup_networks"] = ""
    d["smtpd_relay_before_recipient_restrictions"] = "no" if level < (3, 6) else "yes"
    return d


class Params:
    """Effective values: main.cf's over the defaults, ``$name`` expanded on request."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.raw: dict[str, str] = dict(params)
        self.defaults = defaults(self.raw)
        self.undefined: set[str] = set()
        """``$name`` references seen during expansion that have no value (Postfix: empty)."""

    def get(self, name: str) -> str | None:
        """The value as written (main.cf, else the default), not expanded; None if unknown."""
        if name in self.raw:
            return self.raw[name]
        return self.defaults.get(name)

    def is_set(self, name: str) -> bool:
        return name in self.raw

    def expanded(self, name: str) -> str:
        return self.expand(self.get(name) or "")

    def expand(self, value: str, depth: int = 0) -> str:
        """Expand ``$name``/``${name}``/``$(name)`` like Postfix's mail_conf_eval()."""
        if depth > 20 or "$" not in value:
            return value

        def sub(m: re.Match[str]) -> str:
            ref = m.group(1) or m.group(2) or m.group(3)
            found = self.get(ref)
            if found is None:
                self.undefined.add(ref)
                return ""
            return self.expand(found, depth + 1)

        return _REF_RE.sub(sub, value)

    def flag(self, name: str) -> bool:
        return self.expanded(name).strip().lower() in ("yes", "true", "1")
