"""MiaB's restriction chains from the fixtures, made runnable on the bench.

Only what cannot run here changes, and each change is listed in ``BENCH_SUBSTITUTIONS`` so a
test can say so:
- the policy services (postgrey on 10023, Dovecot quota-status on 12340) point at the bench's
  policy stub on a free port;
- ``smtpd_sender_login_maps`` (sqlite on MiaB; Debian's postfix-sqlite is not needed for the
  tests) becomes a texthash table with the same meaning;
- the milters are not running, so ``smtpd_milters`` is left out (MiaB's
  ``milter_default_action=accept`` would skip them anyway).
"""

from __future__ import annotations

from pathlib import Path

from pfwizard.maincf import MainCf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "miab"

RESTRICTION_PARAMS = (
    "smtpd_client_restrictions",
    "smtpd_helo_required",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_data_restrictions",
)

BENCH_SUBSTITUTIONS = (
    "check_policy_service inet:127.0.0.1:10023/12340 -> the bench's policy stub (DUNNO)",
    "smtpd_sender_login_maps sqlite:... -> texthash table with the bench's mailboxes",
    "smtpd_milters/non_smtpd_milters left out (no milters run on the bench)",
)


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def miab_chains(fixture: str, policy_address: str, config_dir: Path) -> dict[str, str]:
    """Restriction parameters of a MiaB fixture, with the bench substitutions applied."""
    cf = MainCf.read(fixture_path(fixture))
    out: dict[str, str] = {}
    for name in RESTRICTION_PARAMS:
        value = cf.get(name)
        if value is None:
            continue
        for port in ("10023", "12340"):
            value = value.replace(f"inet:127.0.0.1:{port}", policy_address)
        out[name] = value
    logins = config_dir / "sender_login_maps"
    logins.write_text(
        "admin@box.example.com admin@box.example.com\nmick@box.example.com mick@box.example.com\n"
    )
    out["smtpd_sender_login_maps"] = f"texthash:{logins}"
    return out
