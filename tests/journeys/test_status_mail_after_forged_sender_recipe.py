"""Journey: on a box whose mailboxes live in MiaB's sqlite database (users, aliases and the
automatic aliases MiaB adds: administrator@ and hostmaster@ the hostname, postmaster@ and
abuse@ every domain), the admin opens the forged-sender recipe (seed 004) in the installed
`pfwizard`, takes the addresses it read from the box, reviews and applies it.  MiaB's own
status mail (From: administrator@<hostname>, sent to 127.0.0.1:25) still passes; a made-up
local sender is refused."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest

from pfwizard import postfix
from tests.bench.smtp import INSIDE
from tests.conftest import needs_bench
from tests.pty_driver import Terminal, pfwizard_script
from tests.test_engine_support import backdate
from tests.test_explain_bench import configure_v75

pytestmark = pytest.mark.skipif(
    pfwizard_script() is None, reason="the pfwizard console script is not installed"
)

HOST = "box.example.com"
DOWN = "\x1b[B"
# MiaB's lookup queries, as its setup writes /etc/postfix/virtual-*.cf (v66-v75).
QUERIES = {
    "virtual-mailbox-maps.cf": "SELECT 1 FROM users WHERE email='%s'",
    "virtual-alias-maps.cf": "SELECT destination from (SELECT destination, 0 as priority "
    "FROM aliases WHERE source='%s' AND destination<>'' "
    "UNION SELECT email as destination, 1 as priority "
    "FROM users WHERE email='%s' UNION SELECT destination, 2 as priority FROM "
    "auto_aliases WHERE source='%s' AND destination<>'') ORDER BY priority LIMIT 1;",
}
STATUS_MAIL = (
    f"From: administrator@{HOST}\nTo: administrator@{HOST}\n"
    f"Subject: [{HOST}] Status Checks Change Notice\n\nAll checks ok.\n"
)


def miab_database(config_dir: Path) -> Path:
    """users.sqlite as MiaB keeps it: one user, one alias, MiaB's automatic aliases."""
    db = config_dir / "users.sqlite"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE users (email TEXT, password TEXT)")
        for table in ("aliases", "auto_aliases"):
            con.execute(
                f"CREATE TABLE {table} (source TEXT, destination TEXT, permitted_senders TEXT)"
            )
        con.execute("INSERT INTO users VALUES (?, 'x')", (f"admin@{HOST}",))
        con.execute("INSERT INTO aliases VALUES (?, ?, NULL)", (f"sales@{HOST}", f"admin@{HOST}"))
        con.executemany(
            "INSERT INTO auto_aliases VALUES (?, ?, NULL)",
            [
                (f"{who}@{HOST}", f"admin@{HOST}")
                for who in ("administrator", "hostmaster", "postmaster", "abuse")
            ],
        )
    db.chmod(0o644)
    for name, query in QUERIES.items():
        (config_dir / name).write_text(f"dbpath = {db}\nquery = {query}\n")
    return db


def end_of_data(bench, from_header: str, sender: str) -> int:
    d = bench.dialogue(
        mail_from=sender, rcpt_to=f"administrator@{HOST}", source=INSIDE, data=from_header
    )
    found = d.for_command("<end of data>")
    assert found, d.replies
    return found[0].code


@pytest.fixture
def miab_box(bench):
    """The bench with MiaB's database and lookup files (removed again afterwards: the bench
    fixture puts main.cf back, these are extra files)."""
    cdir = bench.config_dir
    if "sqlite" not in postfix.supported_map_types(cdir):
        pytest.skip("postfix-sqlite is not installed")
    miab_database(cdir)
    yield bench
    for name in ("users.sqlite", *QUERIES):
        (cdir / name).unlink(missing_ok=True)


@needs_bench
def test_miabs_status_mail_passes_after_the_forged_sender_recipe(miab_box):
    bench = miab_box
    cdir = bench.config_dir
    backdate(cdir)
    configure_v75(
        bench,
        extra={
            "virtual_mailbox_maps": f"sqlite:{cdir}/virtual-mailbox-maps.cf",
            "virtual_alias_maps": f"sqlite:{cdir}/virtual-alias-maps.cf",
        },
    )
    forged = STATUS_MAIL.replace(f"From: administrator@{HOST}", f"From: nobody@{HOST}")
    assert end_of_data(bench, STATUS_MAIL, f"administrator@{HOST}") == 250
    assert end_of_data(bench, forged, f"nobody@{HOST}") == 250  # no filter yet

    state = Path(tempfile.mkdtemp(prefix="pfwizard-pty-state-"))
    t = Terminal(["--config-dir", str(cdir), "--state-dir", str(state)])
    try:
        t.wait_for("nothing has been written yet", "Start")
        t.press("c")
        t.wait_for("Pick a recipe")
        t.press(DOWN, DOWN, DOWN, DOWN, "\r")  # 5. forged local senders (seed 004)
        # The addresses come from the box: the automatic aliases among them.
        t.wait_for(f"administrator@{HOST}", "header_checks")
        t.press("f2")
        screen = t.wait_for("Review", "REJECT forged local sender", "administrator", timeout=30)
        assert "nothing has been written yet" in screen.lower() or "Nothing written" in screen
        t.press("w")  # Apply asks first
        t.wait_for("Apply now?")
        t.press("y")
        t.wait_for("Applied (journal entry", timeout=90)
        t.press("n")
        t.wait_for("OK: the change is in force")
        t.press("q")
        assert t.finish() == 0
    finally:
        t.kill()

    table = (cdir / "pfwizard" / "forged_local_senders").read_text()
    assert "administrator" in table and "postmaster" in table
    backdate(cdir)
    # MiaB's own status mail passes; a local sender nobody owns is refused.
    assert end_of_data(bench, STATUS_MAIL, f"administrator@{HOST}") == 250
    postmaster = STATUS_MAIL.replace(f"From: administrator@{HOST}", f"From: postmaster@{HOST}")
    assert end_of_data(bench, postmaster, f"postmaster@{HOST}") == 250
    assert end_of_data(bench, forged, f"nobody@{HOST}") == 550
    # The recipe is recorded with the change (one journal entry, customizations.yaml too).
    assert "forged_local_senders" in (state / "customizations.yaml").read_text()
