"""The restriction lists in force on this box, as Postfix itself reports them.

``postconf -x`` gives each list's effective value (defaults included, ``$name`` expanded), and
``postconf -P`` the master.cf ``-o`` overrides, so a reject logged by
``postfix/submission/smtpd`` is explained with the submission service's lists. Without Postfix's
tools (a laptop, a copied config) main.cf is read directly with Postfix's documented defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pfwizard import catalogue, postfix
from pfwizard.chain import Chain, Item
from pfwizard.errors import ConfigError, PostfixCommandError
from pfwizard.maincf import MainCf, expand

# With smtpd_delay_reject = yes (the default) all of these run at RCPT TO, in this order
# (Postfix >= 2.10 runs the relay list before the recipient list); data restrictions at DATA.
LISTS = tuple(catalogue.LIST_PARAMS[key] for key in catalogue.LISTS)

# Other parameters an explanation refers to, with Postfix 3.6's defaults (used only when
# postconf cannot be asked).
DEFAULTS = {
    **dict.fromkeys(LISTS, ""),
    "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, "
    "defer_unauth_destination",
    "smtpd_delay_reject": "yes",
    "smtpd_helo_required": "no",
    "smtpd_reject_unlisted_recipient": "yes",
    "smtpd_reject_unlisted_sender": "no",
    "smtpd_milters": "",
    "milter_default_action": "tempfail",
    "header_checks": "",
    "mynetworks": "",
    "unknown_address_reject_code": "450",
    "virtual_mailbox_domains": "$virtual_mailbox_maps",
}


@dataclass(frozen=True)
class Placement:
    """Where a restriction sits: ``smtpd_sender_restrictions`` item ``index`` (0-based)."""

    parameter: str
    index: int
    item: Item

    @property
    def position(self) -> int:
        return self.index + 1

    def __str__(self) -> str:
        return f"{self.parameter} / {self.item.render()}"


@dataclass
class BoxConfig:
    """Effective parameter values for one smtpd service (``postfix`` = the port 25 one)."""

    params: dict[str, str]
    config_dir: str = ""
    syslog_name: str = "postfix"
    source: str = "postconf"
    """``postconf`` (asked Postfix) or ``main.cf`` (read directly: no Postfix tools here)."""
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    """syslog_name → master.cf ``-o`` parameters of that service."""
    services: dict[str, dict[str, str]] = field(default_factory=dict)
    """master.cf service (``authclean/unix``) → its ``-o`` parameters."""

    def get(self, name: str) -> str:
        return self.params.get(name, DEFAULTS.get(name, ""))

    def chain(self, parameter: str) -> Chain:
        return Chain.parse(self.get(parameter))

    def for_syslog_name(self, syslog_name: str) -> BoxConfig:
        """The same box seen by the service logging as ``syslog_name`` (its -o overrides)."""
        extra = self.overrides.get(syslog_name)
        if not extra or syslog_name == self.syslog_name:
            return self
        return BoxConfig(
            {**self.params, **extra},
            self.config_dir,
            syslog_name,
            self.source,
            self.overrides,
            self.services,
        )

    def placements(self) -> Iterator[Placement]:
        """Every restriction of every list, in the order Postfix evaluates them."""
        for parameter in LISTS:
            for i, item in enumerate(self.chain(parameter)):
                yield Placement(parameter, i, item)

    def find(self, *names: str, parameters: tuple[str, ...] = LISTS) -> list[Placement]:
        """Placements of the named restrictions, in evaluation order."""
        wanted = {n.lower() for n in names}
        return [
            p
            for p in self.placements()
            if p.item.name.lower() in wanted and p.parameter in parameters
        ]

    @property
    def delay_reject(self) -> bool:
        return self.get("smtpd_delay_reject").strip().lower() in ("yes", "true", "1")

    @classmethod
    def load(cls, config_dir: str | Path) -> BoxConfig:
        """Ask Postfix (``postconf -c DIR -x``); fall back to reading main.cf."""
        config_dir = str(config_dir)
        main_cf = Path(config_dir) / "main.cf"
        if not main_cf.exists():
            raise ConfigError(str(main_cf), None, "no such file (is --config-dir right?)")
        if postfix.available():
            try:
                return cls._from_postconf(config_dir)
            except PostfixCommandError:
                pass
        return cls.from_main_cf(MainCf.read(main_cf), config_dir)

    @classmethod
    def from_main_cf(cls, cf: MainCf, config_dir: str = "") -> BoxConfig:
        values = {**DEFAULTS, **cf.parameters()}

        def lookup(name: str) -> str | None:
            return values.get(name)

        params = {name: " ".join(expand(values.get(name, ""), lookup).split()) for name in DEFAULTS}
        return cls(params, config_dir, source="main.cf")

    @classmethod
    def _from_postconf(cls, config_dir: str) -> BoxConfig:
        res = postfix.postconf(config_dir, "-x", *DEFAULTS)
        if not res.ok:
            raise PostfixCommandError(res.argv, res.returncode, res.output)
        params = _parse_postconf(res.stdout)
        overrides: dict[str, dict[str, str]] = {}
        per_service: dict[str, dict[str, str]] = {}
        svc = postfix.postconf(config_dir, "-P")
        if svc.ok:
            for key, value in _parse_postconf(svc.stdout).items():
                service, _, name = key.rpartition("/")
                per_service.setdefault(service, {})[name] = value
            for opts in per_service.values():
                syslog_name = opts.get("syslog_name")
                if syslog_name:
                    overrides[syslog_name] = opts
        return cls(params, config_dir, overrides=overrides, services=per_service)


def _parse_postconf(output: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in output.splitlines():
        name, sep, value = line.partition(" = ")
        if not sep:
            name, sep, value = line.partition(" =")
        if sep:
            out[name.strip()] = value.strip()
    return out
