"""Turn a staged copy of the config directory into a replay instance's configuration.

The copy (``pfwizard.engine.validate.Stage``: the box's files, with a planned change applied
and live paths pointed at the copy) keeps every restriction, table and map as the box has them.
What changes, and why:

- its own queue, data directory and log file in the temporary directory: nothing of the
  box's mail spool or log is touched, and its NOQUEUE lines never reach the box's mail log;
- one smtpd on 127.0.0.1 and a free high port, with the options of the box's port-25 smtpd,
  plus only the services an smtpd needs before DATA (cleanup, rewrite, proxymap, anvil,
  postlog); no queue manager, no delivery agent, no chroot;
- XCLIENT allowed for 127.0.0.1 only (the replayer), so each envelope is asked with its own
  client address, name and HELO;
- every ``check_policy_service`` points at an in-process stub answering DUNNO (postgrey and
  quota-status are never contacted), ``reject_unverified_*`` become no-ops (address
  verification would send probes to other servers), milters and proxy filters are left out;
- no TLS, no SASL, no error sleeps or rate limits: the replayer speaks plain SMTP, reuses one
  connection for many envelopes and is rejected often.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pfwizard.mastercf import MasterCf, Service

POLICY_RE = re.compile(r"check_policy_service[\s,]+(\{[^}]*\}|[^\s,]+)")
UNVERIFIED_RE = re.compile(r"\breject_unverified_(sender|recipient)\b")
# An access lookup that always answers DUNNO: a restriction that does nothing.
NO_OP = "check_client_access static:DUNNO"

OVERRIDES = {
    "inet_interfaces": "127.0.0.1",
    "smtpd_authorized_xclient_hosts": "127.0.0.1",
    "smtpd_peername_lookup": "no",
    "smtpd_upstream_proxy_protocol": "",
    "smtpd_milters": "",
    "non_smtpd_milters": "",
    "smtpd_proxy_filter": "",
    "smtpd_sasl_auth_enable": "no",
    "smtpd_tls_security_level": "none",
    "smtpd_use_tls": "no",
    "smtpd_enforce_tls": "no",
    "smtpd_tls_auth_only": "no",
    "smtpd_error_sleep_time": "0",
    "smtpd_soft_error_limit": "1000000",
    "smtpd_hard_error_limit": "1000000",
    "smtpd_junk_command_limit": "1000000",
    "smtpd_client_connection_count_limit": "0",
    "smtpd_client_connection_rate_limit": "0",
    "smtpd_client_message_rate_limit": "0",
    "smtpd_client_recipient_rate_limit": "0",
    "smtpd_client_new_tls_session_rate_limit": "0",
    "smtpd_client_auth_rate_limit": "0",
    "in_flow_delay": "0",
    "syslog_name": "postfix-impact",
}

# Services an smtpd uses before DATA; chroot "n" (the temporary directory has no chroot jail).
SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class ReplayConfig:
    """What the rewrite did, for the report."""

    policy_services: list[str] = field(default_factory=list)
    """The policy services the box's restrictions name (replaced by the stub)."""
    unverified: list[str] = field(default_factory=list)
    """``reject_unverified_*`` restrictions left out."""
    postscreen: bool = False
    """Port 25 is postscreen's (its own checks are not replayed)."""


def _neutralise(value: str, stub: str, found: ReplayConfig) -> str:
    def policy(m: re.Match[str]) -> str:
        target = m.group(1)
        if target not in found.policy_services:
            found.policy_services.append(target)
        return f"check_policy_service {stub}"

    def unverified(m: re.Match[str]) -> str:
        if m.group(0) not in found.unverified:
            found.unverified.append(m.group(0))
        return NO_OP

    return UNVERIFIED_RE.sub(unverified, POLICY_RE.sub(policy, value))


def _port25(master: MasterCf) -> Service | None:
    """The box's port-25 smtpd (behind postscreen: the ``smtpd pass`` service)."""
    services = master.services()
    for svc in services:
        if svc.type == "inet" and svc.name.rsplit(":", 1)[-1] in ("smtp", "25"):
            if svc.command == "postscreen":
                return next(
                    (s for s in services if s.type == "pass" and s.command == "smtpd"), None
                )
            return svc if svc.command == "smtpd" else None
    return None


def _option(name: str, value: str) -> str:
    return (
        f"-o {{ {name} = {value} }}"
        if any(c.isspace() for c in value) or not value
        else f"-o {name}={value}"
    )


def _replace(path: Path, text: str) -> None:
    """A new file in place of ``path``: the copy may hold a symlink to the box's own file,
    which must never be written through."""
    path.unlink(missing_ok=True)
    path.write_text(text, errors="surrogateescape")


def rewrite(stage_dir: Path, root: Path, port: int, stub: str) -> ReplayConfig:
    """Rewrite ``stage_dir``'s main.cf and master.cf into a replay instance's (see module).

    ``root``: the instance's temporary directory (queue, data, log); ``stub``: the policy
    stub's address (``inet:127.0.0.1:PORT``)."""
    from pfwizard.maincf import MainCf  # local: keeps this module's import light for the CLI

    found = ReplayConfig()
    main_cf = stage_dir / "main.cf"
    cf = MainCf.read(main_cf)
    lines = ["", "# pfwizard impact preview: this copy's own instance (see impact/stage.py)"]
    for name, value in cf.parameters().items():
        new = _neutralise(value, stub, found)
        if new != value:
            lines.append(f"{name} = {new}")
    params = dict(
        OVERRIDES,
        queue_directory=str(root / "spool"),
        data_directory=str(root / "lib"),
        maillog_file=str(root / "maillog"),
        maillog_file_prefixes=str(root),
    )
    lines += [f"{k} = {v}" for k, v in params.items()]
    text = main_cf.read_text(errors="surrogateescape")
    if text and not text.endswith("\n"):
        text += "\n"
    _replace(main_cf, text + "\n".join(lines) + "\n")

    master_path = stage_dir / "master.cf"
    master = MasterCf.read(master_path) if master_path.exists() else None
    smtpd = _port25(master) if master is not None else None
    found.postscreen = master is not None and any(
        s.type == "inet" and s.command == "postscreen" for s in master.services()
    )
    options = [
        _option(k, _neutralise(v, stub, found))
        for k, v in (smtpd.options if smtpd else ())
        if k not in params
    ]
    listen = f"127.0.0.1:{port} inet n - n - - smtpd"
    _replace(
        master_path,
        "# pfwizard impact preview (generated)\n"
        + listen
        + "".join(f"\n  {o}" for o in options)
        + "\n"
        + SERVICES,
    )
    return found
