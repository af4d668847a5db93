# ruff: noqa: E501  (a MiaB chain is one long line, as in main.cf)
"""The table checker at the command line's doors: `check` reports a permit line that lets in
more than it names (danger) and a /.../i line that never matches (caution); `apply` and
`restore` refuse the danger (exit 4, nothing written) unless the admin accepts that finding
by its code (`--accept-risk CODE`); an open relay is never accepted; a rollback to a config
holding an accepted danger is not blocked by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.engine.journal import Journal
from tests.conftest import needs_postfix
from tests.miab_setup import box

SEED_LINE = r"/esa[0-9]*\.?[acehimnops0-9]*[-]?[0-9]*\.?[acps23]*\.iphmx\.com/i PERMIT"
NEVER_LINE = r"/^MAILER-DAEMON@esa(.*)\.iphmx\.com$/i PERMIT"
LEARNED_LINE = r"/^MAILER-DAEMON@esa[0-9]*\.([a-z0-9-]+\.){1,2}iphmx\.com$/ PERMIT"
BOTH = ("unanchored-end", "matches-local-part")
UNANCHORED = "the pattern has no '$' at the end"
LOCAL_PART = "the user name included"

PROFILE = """\
version: 1
chains:
  smtpd_sender_restrictions:
    base: reject_non_fqdn_sender,reject_unknown_sender_domain,reject_authenticated_sender_login_mismatch,reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]
    operations:
      - insert: check_sender_access regexp:{cfg}/pfwizard/allow
        before: reject_unknown_sender_domain
tables:
  {cfg}/pfwizard/allow:
    type: regexp
    content: |
      {line}
"""


def pf(config_dir: Path, state_dir: Path, *argv: str) -> int:
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


def accept(*codes: str) -> list[str]:
    return [w for c in codes for w in ("--accept-risk", c)]


def files(config_dir: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(config_dir.rglob("*")) if p.is_file()}


@pytest.fixture
def seed_box(tmp_path: Path) -> tuple[Path, Path, Path]:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    state_dir.mkdir(mode=0o700)
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir, line=SEED_LINE))
    return config_dir, state_dir, profile


@needs_postfix
def test_check_names_the_danger_and_the_line_that_never_matches(tmp_path, capsys):
    config_dir, _state = box(tmp_path, "main.cf.v75-fresh")
    table = config_dir / "allow"
    table.write_text(f"{SEED_LINE}\n{NEVER_LINE}\n")
    main_cf = config_dir / "main.cf"
    main_cf.write_text(
        main_cf.read_text().replace(
            "smtpd_sender_restrictions=",
            f"smtpd_sender_restrictions=check_sender_access regexp:{table},",
        )
    )
    assert main(["--config-dir", str(config_dir), "check"]) == exitcodes.FINDINGS
    out = capsys.readouterr().out
    danger = [ln for ln in out.splitlines() if ln.startswith("X DANGER")]
    assert len(danger) == 2, out
    # Plain words for the admin (the codes stay in --json and --accept-risk).
    assert UNANCHORED in out and LOCAL_PART in out, out
    assert "postmap -q 'postmaster@esa.iphmx.com.attacker.example' regexp:" in out
    assert "case-SENSITIVE" in out and "line 2" in out
    # The learned allowlist's line instead: nothing dangerous, exit 0.
    table.write_text(LEARNED_LINE + "\n")
    assert main(["--config-dir", str(config_dir), "check"]) == exitcodes.OK
    assert "DANGER" not in capsys.readouterr().out


@needs_postfix
def test_apply_refuses_the_danger_unless_each_finding_is_accepted(seed_box, capsys):
    config_dir, state_dir, profile = seed_box
    before = files(config_dir)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
    out = capsys.readouterr()
    text = out.out + out.err
    assert UNANCHORED in text and "esa.iphmx.com.attacker.example" in text
    assert "--accept-risk unanchored-end" in text and "--accept-risk matches-local-part" in text
    assert files(config_dir) == before
    # Accepting one finding is not accepting the other.
    assert (
        pf(config_dir, state_dir, "apply", str(profile), *accept("unanchored-end"))
        == exitcodes.REFUSED
    )
    assert LOCAL_PART in capsys.readouterr().out
    assert files(config_dir) == before
    assert pf(config_dir, state_dir, "apply", str(profile), *accept(*BOTH)) == exitcodes.CHANGED
    assert (config_dir / "pfwizard" / "allow").read_text() == SEED_LINE + "\n"


@needs_postfix
def test_an_open_relay_is_never_accepted(seed_box, capsys):
    config_dir, state_dir, profile = seed_box
    profile.write_text('version: 1\nparameters:\n  mynetworks:\n    value: "0.0.0.0/0"\n')
    before = files(config_dir)
    assert (
        pf(config_dir, state_dir, "apply", str(profile), *accept("open-relay", "wide-mynetworks"))
        == exitcodes.REFUSED
    )
    assert files(config_dir) == before
    assert "open relay" in capsys.readouterr().out


@needs_postfix
def test_restore_refuses_the_danger_unless_accepted(seed_box, capsys):
    """customizations.yaml edited by hand to hold the wide line, the table lost: restore
    refuses to write it until the admin accepts it by name."""
    config_dir, state_dir, profile = seed_box
    profile.write_text(PROFILE.format(cfg=config_dir, line=LEARNED_LINE))
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    intent = state_dir / "customizations.yaml"
    assert LEARNED_LINE in intent.read_text()
    intent.write_text(intent.read_text().replace(LEARNED_LINE, SEED_LINE))
    (config_dir / "pfwizard" / "allow").unlink()  # lost: restore rebuilds it from intent
    before = files(config_dir)
    capsys.readouterr()
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.REFUSED
    assert "--accept-risk unanchored-end" in capsys.readouterr().out
    assert files(config_dir) == before
    assert pf(config_dir, state_dir, "restore", "--yes", *accept(*BOTH)) == exitcodes.CHANGED
    assert (config_dir / "pfwizard" / "allow").read_text() == SEED_LINE + "\n"


@needs_postfix
def test_rollback_is_not_blocked_by_an_accepted_danger(seed_box):
    """Rollback puts back what Postfix ran before: acceptable findings do not stop it."""
    config_dir, state_dir, profile = seed_box
    assert pf(config_dir, state_dir, "apply", str(profile), *accept(*BOTH)) == exitcodes.CHANGED
    profile.write_text(PROFILE.format(cfg=config_dir, line=LEARNED_LINE))
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    last = Journal(state_dir, config_dir).entries()[-1]
    assert pf(config_dir, state_dir, "rollback", "--to", last.id, "--yes") == exitcodes.CHANGED
    assert (config_dir / "pfwizard" / "allow").read_text() == SEED_LINE + "\n"


@needs_postfix
def test_what_was_accepted_goes_back_unasked_after_an_upgrade_and_nothing_more(seed_box, capsys):
    """The after-upgrade hook runs `restore --yes` unattended: the table the admin accepted
    goes back without a new --accept-risk; the same finding on another table does not."""
    config_dir, state_dir, profile = seed_box
    assert pf(config_dir, state_dir, "apply", str(profile), *accept(*BOTH)) == exitcodes.CHANGED
    main_cf = config_dir / "main.cf"
    main_cf.write_text(
        main_cf.read_text().replace(f"check_sender_access regexp:{config_dir}/pfwizard/allow,", "")
    )
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    assert "pfwizard/allow" in main_cf.read_text()
    # Another table with the same wide line is a new question.
    other = profile.read_text().replace("pfwizard/allow", "pfwizard/other")
    profile.write_text(other)
    capsys.readouterr()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
    assert "--accept-risk unanchored-end" in capsys.readouterr().out
