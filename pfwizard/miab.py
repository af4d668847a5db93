"""What pfwizard knows about Mail-in-a-Box: which parameters its setup manages, erases or never
touches, the chains each release ships, and which release is installed.

Source: MiaB's own setup scripts as replayed in ``tests/fixtures/miab`` (see its README). Every
setup run (every upgrade, every ``sudo mailinabox``) rewrites the parameters in ``MANAGED`` and
comments out any active line of ``ERASED``; the ones in ``NEVER_SET`` survive upgrades.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

# Restriction lists MiaB resets on every setup run: customisations there need restoring.
MANAGED_CHAINS = (
    "smtpd_sender_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_relay_restrictions",
)

# Everything MiaB v75's setup writes as ``name=value`` (besides the chains above).
MANAGED = frozenset(
    {
        *MANAGED_CHAINS,
        "smtpd_milters",
        "non_smtpd_milters",
        "milter_default_action",
        "smtpd_banner",
        "delay_warning_time",
        "mydestination",
        "smtp_bind_address",
        "smtp_bind_address6",
        "maximal_queue_lifetime",
        "bounce_queue_lifetime",
        "smtpd_forbid_bare_newline",
        "message_size_limit",
        "smtpd_sasl_type",
        "smtpd_sasl_path",
        "smtpd_sasl_auth_enable",
        "smtpd_sender_login_maps",
        "smtputf8_enable",
        "virtual_transport",
        "virtual_mailbox_domains",
        "virtual_mailbox_maps",
        "virtual_alias_maps",
        "local_recipient_maps",
        "smtp_dns_support_level",
        "tls_medium_cipherlist",
        "tls_high_cipherlist",
        "tls_preempt_cipherlist",
        "smtpd_tls_cert_file",
        "smtpd_tls_key_file",
        "smtpd_tls_security_level",
        "smtpd_tls_auth_only",
        "smtpd_tls_dh1024_param_file",
        "smtpd_tls_protocols",
        "smtpd_tls_ciphers",
        "smtpd_tls_exclude_ciphers",
        "smtpd_tls_received_header",
        "smtpd_tls_mandatory_protocols",
        "smtpd_tls_mandatory_ciphers",
        "smtpd_tls_mandatory_exclude_ciphers",
        "smtp_tls_CApath",
        "smtp_tls_security_level",
        "smtp_tls_protocols",
        "smtp_tls_ciphers",
        "smtp_tls_exclude_ciphers",
        "smtp_tls_mandatory_protocols",
        "smtp_tls_mandatory_ciphers",
        "smtp_tls_CAfile",
        "smtp_tls_loglevel",
    }
)

# Commented out by every setup run, whatever their value (v68 erased data restrictions).
ERASED = frozenset(
    {"smtpd_data_restrictions", "smtpd_discard_ehlo_keywords", "lmtp_destination_recipient_limit"}
)

# Never set by MiaB: an admin's value here survives every upgrade.
NEVER_SET = frozenset(
    {
        "smtpd_helo_required",
        "smtpd_helo_restrictions",
        "smtpd_client_restrictions",
        "smtpd_end_of_data_restrictions",
        "header_checks",
    }
)
_NEVER_SET_PREFIXES = ("postscreen_",)

_V66_SENDER = (
    "reject_non_fqdn_sender,reject_unknown_sender_domain,"
    "reject_authenticated_sender_login_mismatch,reject_rhsbl_sender dbl.spamhaus.org"
)
_V66_RECIPIENT = (
    "permit_sasl_authenticated,permit_mynetworks,"
    "reject_rbl_client zen.spamhaus.org,reject_unlisted_recipient,"
    "check_policy_service inet:127.0.0.1:10023"
)
_V68_SENDER = _V66_SENDER + "=127.0.1.[2..99]"
_V68_RECIPIENT = _V66_RECIPIENT.replace("zen.spamhaus.org", "zen.spamhaus.org=127.0.0.[2..11]")
_V73_RECIPIENT = _V68_RECIPIENT + ",check_policy_service inet:127.0.0.1:12340"
_RELAY = "permit_sasl_authenticated,permit_mynetworks,reject_unauth_destination"

# The chains each release ships (from the fixtures; releases in between ship the one before).
RELEASE_CHAINS: Mapping[int, Mapping[str, str]] = {
    66: {
        "smtpd_sender_restrictions": _V66_SENDER,
        "smtpd_recipient_restrictions": _V66_RECIPIENT,
        "smtpd_relay_restrictions": _RELAY,
    },
    68: {
        "smtpd_sender_restrictions": _V68_SENDER,
        "smtpd_recipient_restrictions": _V68_RECIPIENT,
        "smtpd_relay_restrictions": _RELAY,
    },
    73: {
        "smtpd_sender_restrictions": _V68_SENDER,
        "smtpd_recipient_restrictions": _V73_RECIPIENT,
        "smtpd_relay_restrictions": _RELAY,
    },
}

CHECKOUT_ENV = "PFWIZARD_MIAB_DIR"
DEFAULT_CHECKOUTS = (Path("/root/mailinabox"), Path.home() / "mailinabox")

_RELEASE_RE = re.compile(r"v?(\d+)")


def manages(name: str) -> bool:
    """True if MiaB's setup rewrites ``name`` (an admin's value there is lost on upgrade)."""
    return name in MANAGED or name in ERASED


def erases(name: str) -> bool:
    return name in ERASED


def never_sets(name: str) -> bool:
    return name in NEVER_SET or name.startswith(_NEVER_SET_PREFIXES)


def shipped_chains(release: str) -> Mapping[str, str] | None:
    """The chains ``release`` (``v75``, ``v73-4-gabc``) ships, if pfwizard knows them."""
    m = _RELEASE_RE.match(release)
    if not m:
        return None
    number = int(m.group(1))
    known = [r for r in RELEASE_CHAINS if r <= number]
    return RELEASE_CHAINS[max(known)] if known else None


def _exists(path: Path) -> bool:
    """Like ``path.exists()``, but a path a normal user may not look into (``/root`` is
    0700) is simply not there for them, instead of a PermissionError."""
    try:
        return path.exists()
    except OSError:
        return False


def find_checkout(path: str | Path | None = None) -> Path | None:
    """The admin's MiaB checkout: ``path``, else $PFWIZARD_MIAB_DIR, else ~root/mailinabox."""
    if path is not None:
        return Path(path)
    env = os.environ.get(CHECKOUT_ENV)
    if env:
        return Path(env)
    for candidate in DEFAULT_CHECKOUTS:
        if _exists(candidate / ".git"):
            return candidate
    return None


def installed_release(path: str | Path | None = None) -> str | None:
    """What ``git describe`` says in the MiaB checkout (e.g. ``v75``); None if unknown."""
    checkout = find_checkout(path)
    if checkout is None or not _exists(checkout):
        return None
    try:
        res = subprocess.run(
            ["git", "-C", str(checkout), "-c", f"safe.directory={checkout}", "describe", "--tags"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = res.stdout.strip()
    return out if res.returncode == 0 and out else None
