"""The five open-relay routes pfwizard once let through, on MiaB v75's configuration: each is
flagged by ``pfwizard check`` (exit 1, naming the route) and refused by ``pfwizard apply``
(non-zero, the reason printed, nothing written).

Postfix answered 250 to an outside client relaying to a remote domain with each of them
(tests/test_relay_differential_bench.py proves the same kinds of configuration on the bench).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from tests.conftest import needs_postfix
from tests.miab_setup import box

ROOT = Path(__file__).resolve().parent.parent
MIAB_RELAY = "permit_sasl_authenticated,permit_mynetworks,reject_unauth_destination"


def _profile(cfg: Path) -> dict[str, str]:
    """Route → a profile writing it (what an admin or a pushed profile could do)."""
    return {
        "cidr-ok": f"""\
version: 1
chains:
  smtpd_relay_restrictions:
    operations:
      - insert: check_client_access cidr:{cfg}/pfwizard/clients
        at: start
tables:
  {cfg}/pfwizard/clients:
    type: cidr
    content: |
      0.0.0.0/0 OK
""",
        "static-ok": """\
version: 1
chains:
  smtpd_relay_restrictions:
    operations:
      - insert: check_client_access static:OK
        at: start
""",
        "mynetworks-table": f"""\
version: 1
parameters:
  mynetworks:
    value: 127.0.0.0/8 cidr:{cfg}/pfwizard/trusted
tables:
  {cfg}/pfwizard/trusted:
    type: cidr
    content: |
      0.0.0.0/0 trusted
""",
        "relay-domains": """\
version: 1
parameters:
  relay_domains:
    value: static:ALL
""",
        "service-mynetworks": """\
version: 1
services:
  smtp/inet/mynetworks:
    value: 0.0.0.0/0
""",
    }


# Route → words the finding must contain (the list, the item, the table line).
NAMED = {
    "cidr-ok": ["smtpd_relay_restrictions", "check_client_access cidr:", "'0.0.0.0/0 OK'"],
    "static-ok": [
        "smtpd_relay_restrictions",
        "check_client_access static:OK",
        "answers OK for any client",
    ],
    "mynetworks-table": ["permit_mynetworks", "mynetworks has cidr:", "lists 0.0.0.0/0"],
    "relay-domains": [
        "reject_unauth_destination",
        "refuses no domain",
        "relay_domains has static:ALL",
    ],
    "service-mynetworks": [
        "'smtp' service (master.cf line",
        "permit_mynetworks",
        "mynetworks lists 0.0.0.0/0",
    ],
}
ROUTES = sorted(NAMED)


def _write_route(route: str, cfg: Path) -> None:
    """The route written straight into the files, as a hand edit would."""
    cf = MainCf.read(cfg / "main.cf")
    (cfg / "pfwizard").mkdir(exist_ok=True)
    if route == "cidr-ok":
        (cfg / "pfwizard" / "clients").write_text("0.0.0.0/0 OK\n")
        cf.set(
            "smtpd_relay_restrictions",
            f"check_client_access cidr:{cfg}/pfwizard/clients,{MIAB_RELAY}",
        )
    elif route == "static-ok":
        cf.set("smtpd_relay_restrictions", f"check_client_access static:OK,{MIAB_RELAY}")
    elif route == "mynetworks-table":
        (cfg / "pfwizard" / "trusted").write_text("0.0.0.0/0 trusted\n")
        cf.set("mynetworks", f"127.0.0.0/8 cidr:{cfg}/pfwizard/trusted")
    elif route == "relay-domains":
        cf.set("relay_domains", "static:ALL")
    elif route == "service-mynetworks":
        master = MasterCf.read(cfg / "master.cf")
        master.set_option("smtp", "inet", "mynetworks", "0.0.0.0/0")
        (cfg / "master.cf").write_bytes(master.to_bytes())
    (cfg / "main.cf").write_bytes(cf.to_bytes())


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_miab_as_shipped_is_no_open_relay(tmp_path):
    cfg, _state = box(tmp_path, "main.cf.v75-fresh")
    r = subprocess.run(
        [sys.executable, "-m", "pfwizard", "check", "--config-dir", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert r.returncode == 0, r.stdout
    assert "open-relay" not in r.stdout and "relay-undecided" not in r.stdout


@pytest.mark.parametrize("route", ROUTES)
def test_check_flags_the_route(tmp_path, route):
    cfg, _state = box(tmp_path, "main.cf.v75-fresh")
    _write_route(route, cfg)
    r = subprocess.run(
        [sys.executable, "-m", "pfwizard", "check", "--config-dir", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert r.returncode == exitcodes.FINDINGS, r.stdout + r.stderr
    found = [b for b in r.stdout.split("\n\n") if "open relay" in b] or [
        r.stdout[r.stdout.index("open relay") :]
    ]
    text = " ".join(found[0].split())
    for words in NAMED[route]:
        assert words in text, (words, text)


@needs_postfix
@pytest.mark.parametrize("route", ROUTES)
def test_apply_refuses_the_route_and_writes_nothing(tmp_path, capsys, route):
    cfg, state = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(_profile(cfg)[route])
    before = _snapshot(cfg)
    code = main(
        ["--config-dir", str(cfg), "--state-dir", str(state), "--no-reload", "apply", str(profile)]
    )
    out = capsys.readouterr()
    text = " ".join((out.out + out.err).split())
    assert code not in (exitcodes.OK, exitcodes.CHANGED), text
    assert (
        "open relay" in text or "Postfix refuses to run" in text
    ) and "nothing was written" in text, text
    for words in NAMED[route]:
        assert words in text, (words, text)
    assert _snapshot(cfg) == before
