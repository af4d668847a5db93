"""The live probe as the wizard runs it after Apply: where to talk to, and why refused.

``smtp_listen_address(config_dir)``: the local Postfix's public smtp listener, from master.cf's
``smtp inet ... smtpd`` service (or ``host:port inet ... smtpd``) and main.cf's
``inet_interfaces``; the submission ports (SMTP AUTH on) are not what an outside sender meets.
``check(config_dir, sender, recipients, ...)``: ``pfwizard.probe`` there, each refusal
explained by ``pfwizard.explain`` on this box's config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pfwizard.analysis.mastercf import from_master
from pfwizard.errors import ConfigError, PfwizardError
from pfwizard.explain import BoxConfig, Explanation, explain, parse_line
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from pfwizard.probe import OUTSIDE_ADDR, ProbeResult, probe

SMTP_PORTS = {"smtp": 25, "25": 25}
_ANY = ("all", "")


def _port(word: str) -> int | None:
    if word in SMTP_PORTS:
        return SMTP_PORTS[word]
    return int(word) if word.isdigit() else None


def smtp_listen_address(config_dir: str | Path) -> tuple[str, int]:
    """(host, port) of the smtpd service outside senders reach; ``127.0.0.1:25`` by default."""
    cdir = Path(config_dir)
    try:
        master = from_master(MasterCf.of_config_dir(cdir))
    except (OSError, ConfigError):
        master = []
    host = "127.0.0.1"
    try:
        interfaces = MainCf.read(cdir / "main.cf").get("inet_interfaces") or ""
    except OSError:
        interfaces = ""
    for word in interfaces.replace(",", " ").split():
        if word not in _ANY and word not in ("loopback-only", "localhost"):
            host = word.strip("[]")
            break
    for svc in master:
        if not svc.is_smtpd or svc.type != "inet" or svc.authenticates:
            continue
        name, _, port_word = svc.name.rpartition(":")
        port = _port(port_word)
        if port is None or port_word in ("submission", "smtps", "465", "587"):
            continue
        if name:
            host = name.strip("[]") if name.strip("[]") not in ("*", "0.0.0.0") else host
        return host, port
    return host, 25


COPY_NOT_SERVED = (
    "This is a copy of a configuration (the demo): no Postfix runs on it, so there is "
    "nothing to probe. The system's Postfix on port 25 runs another configuration and is "
    "never probed from the demo. On your box, F5 probes its own smtp listener."
)


def copy_target(config_dir: str | Path, queue_directory: Path | None) -> tuple[str, int] | None:
    """Where a copy of a configuration (the demo's) can be probed: only at a Postfix master
    started on that copy itself (``master -c COPY``); never the system's listener, which
    answers with another configuration. None: no such master runs."""
    from pfwizard.engine.instance import serving_master

    if serving_master(Path(config_dir), queue_directory) is None:
        return None
    return smtp_listen_address(config_dir)


@dataclass
class LiveProbe:
    result: ProbeResult
    explanations: list[Explanation] = field(default_factory=list)
    explain_error: str = ""
    """Why refusals could not be explained (e.g. postconf failed), else empty."""


def check(
    config_dir: str | Path,
    sender: str,
    recipients: list[str],
    *,
    host: str | None = None,
    port: int | None = None,
    helo: str | None = None,
    outside: str | None = OUTSIDE_ADDR,
    source: str | None = None,
    timeout: float = 15.0,
) -> LiveProbe:
    """Probe the box's own smtp listener (never DATA); explain every refusal."""
    if host is None or port is None:
        h, p = smtp_listen_address(config_dir)
        host, port = host or h, port or p
    res = probe(
        sender,
        recipients,
        host=host,
        port=port,
        helo=helo,
        outside=outside,
        source=source,
        timeout=timeout,
    )
    out = LiveProbe(res)
    lines = [ln for ln in map(parse_line, res.log_lines()) if ln is not None]
    if lines:
        try:
            box = BoxConfig.load(config_dir)
        except (PfwizardError, OSError) as exc:
            out.explain_error = str(exc)
            return out
        out.explanations = [explain(ln, box) for ln in lines]
    return out
