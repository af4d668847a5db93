"""Shared helpers for the engine tests (no tests here): seed 000's change as the standard
example (with recipe 5's master.cf edit added: ``seed000_and_authclean``), snapshots of the
config directory, SMTP verdicts on port 25 and on the bench's submission path."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pfwizard.chain import Chain, Item
from pfwizard.engine import ChangeSet, TableChange
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from tests.bench.smtp import INSIDE

SEED_TABLE = (
    "# Cisco Secure Email Threat Defense (DMARC domains)\n"
    "/^MAILER-DAEMON@esa[0-9]*\\.([a-z0-9-]+\\.){1,2}iphmx\\.com$/ PERMIT\n"
)
HASH_TABLE = "# DMARC reporters whose domains do not resolve\ncommscope.com OK\n"
CISCO = "MAILER-DAEMON@esa4.commscope.iphmx.com"
COMMSCOPE = "MAILER-DAEMON@reports.commscope.com"
REGEXP_REL = Path("pfwizard/cisco_dmarc_sender_access")
HASH_REL = Path("pfwizard/dmarc_sender_domains")


def seed000_changeset(config_dir: Path) -> ChangeSet:
    """Seed 000's fix: a regexp and a hash allowlist before reject_unknown_sender_domain."""
    cf = MainCf.read(config_dir / "main.cf")
    chain = Chain.parse(cf.get("smtpd_sender_restrictions") or "")
    chain.insert_before(
        "reject_unknown_sender_domain",
        Item("check_sender_access", f"regexp:{config_dir / REGEXP_REL}"),
    )
    chain.insert_before(
        "reject_unknown_sender_domain", Item("check_sender_access", f"hash:{config_dir / HASH_REL}")
    )
    return ChangeSet(
        summary="seed 000: let Cisco ESA DMARC reporters through",
        params={"smtpd_sender_restrictions": chain.render()},
        tables=[
            TableChange(REGEXP_REL, SEED_TABLE, "regexp"),
            TableChange(HASH_REL, HASH_TABLE, "hash"),
        ],
        intent={"seed": "000"},
    )


FORGED_REL = Path("pfwizard/forged_local_senders")
FORGED_TABLE = "/^From:.*nobody@box\\.example\\.com/ REJECT forged local sender\n"
AUTHCLEAN_CHECKS = "authclean/unix/header_checks"


def with_authclean(config_dir: Path, cs: ChangeSet) -> ChangeSet:
    """``cs`` plus recipe 5's master.cf edit: a pcre table added after the bench's MiaB filter
    in authclean's own header_checks (``Bench.enable_submission`` adds authclean)."""
    current = MasterCf.read(config_dir / "master.cf").get_option(
        "authclean", "unix", "header_checks"
    )
    assert current, "authclean with its own header_checks (bench.enable_submission())"
    cs.tables.append(TableChange(FORGED_REL, FORGED_TABLE, "pcre"))
    cs.master_params[AUTHCLEAN_CHECKS] = f"{current},pcre:{config_dir / FORGED_REL}"
    return cs


def seed000_and_authclean(config_dir: Path) -> ChangeSet:
    """main.cf, master.cf, a regexp, a hash and a pcre table in one change."""
    return with_authclean(config_dir, seed000_changeset(config_dir))


def submission_verdict(bench) -> int:
    """End-of-DATA code for a forged local From: on the bench's submission path (authclean):
    250 without recipe 5's master.cf edit, 550 with it."""
    d = bench.submission(
        mail_from="a@example.org",
        source=INSIDE,
        data="From: nobody@box.example.com\nSubject: t\n\nhello\n",
    )
    end = d.for_command("<end of data>")
    return end[0].code if end else 0


def snapshot(config_dir: Path) -> dict[str, tuple[bytes, int, int, int]]:
    """Every file under the config directory: bytes, mode, uid, gid."""
    out = {}
    for dirpath, _dirs, files in os.walk(config_dir):
        for n in files:
            p = Path(dirpath) / n
            st = p.stat()
            out[str(p.relative_to(config_dir))] = (p.read_bytes(), st.st_mode, st.st_uid, st.st_gid)
    return out


def verdicts(bench) -> tuple[int, int]:
    """RCPT codes for the Cisco reporter and the commscope.com reporter (outside client)."""
    codes = []
    for sender in (CISCO, COMMSCOPE):
        d = bench.dialogue(
            helo="esa4.commscope.iphmx.com", mail_from=sender, rcpt_to="admin@box.example.com"
        )
        codes.append(d.rcpt.code)
    return codes[0], codes[1]


def state_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="pfwizard-state-", dir="/tmp"))


def backdate(config_dir: Path) -> None:
    """Postfix's ~2 s cool-down for young files: tests backdate instead of waiting."""
    import time

    past = time.time() - 10
    for dirpath, _dirs, files in os.walk(config_dir):
        for n in files:
            os.utime(Path(dirpath) / n, (past, past))
