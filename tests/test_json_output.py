"""``--json`` on apply, restore, rollback, check and status: one document on stdout, keys and
types as docs/json.md says (the document is read here, so the two cannot drift), progress
on stderr, private tables never shown, and errors as documents too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pfwizard import exitcodes
from pfwizard.cli import main
from tests.conftest import needs_postfix
from tests.miab_setup import box, release_values, run_setup_on
from tests.test_apply_profile import PROFILE

DOC = Path(__file__).resolve().parent.parent / "docs" / "json.md"
TYPES = {
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "string": str,
    "object": dict,
    "list": list,
    "null": type(None),
}


def documented() -> dict[str, list[dict[str, str]]]:
    """docs/json.md's tables: section title -> [{key: type text}, ...] in order."""
    sections: dict[str, list[dict[str, str]]] = {}
    title, table = "", None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            title, table = line[3:].strip(), None
            sections[title] = []
        m = re.match(r"\| `(\w+)` \| ([^|]+) \|", line)
        if m:
            if table is None:
                table = {}
                sections[title].append(table)
            table[m.group(1)] = m.group(2).strip()
        elif not line.startswith("|"):
            table = None
    return sections


SPEC = documented()
FRAME, FILE, FINDING = SPEC["Every command"]


def conforms(value: Any, type_text: str) -> bool:
    """``value`` fits "string or null", "list of files", "integer"..."""
    kinds = [w.split()[0] for w in type_text.split(" or ")]
    return any(
        isinstance(value, TYPES[k]) and not (k == "integer" and isinstance(value, bool))
        for k in kinds
    )


def check_schema(doc: dict[str, Any], command: str, own: tuple[str, ...] | None = None) -> None:
    """Every key documented for ``command``: the frame plus its own table (only the keys
    in ``own`` when given), no other, with the documented types; files and findings too."""
    table = SPEC[command][0]
    allowed = {**FRAME, **{k: v for k, v in table.items() if own is None or k in own}}
    assert set(doc) == set(allowed), set(doc) ^ set(allowed)
    for key, type_text in allowed.items():
        assert conforms(doc[key], type_text), (key, doc[key], type_text)
    assert doc["schema"] == 1 and doc["command"] == command
    assert doc["changed"] == (doc["exit_code"] == exitcodes.CHANGED)
    for f in doc["files"]:
        assert set(f) == set(FILE)
        for key, type_text in FILE.items():
            assert conforms(f[key], type_text), (key, f[key])
    for f in doc["findings"]:
        assert set(f) == set(FINDING)
        assert f["severity"] in ("info", "caution", "danger") and f["code"] and f["message"]


def pf(
    capsys: pytest.CaptureFixture[str], config_dir: Path, state_dir: Path, *argv: str
) -> tuple[int, dict[str, Any], str]:
    """Run pfwizard; stdout must be exactly one JSON document."""
    code = main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["exit_code"] == code
    return code, doc, err


@pytest.fixture
def scratch(tmp_path: Path) -> tuple[Path, Path, Path]:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir))
    return config_dir, state_dir, profile


def test_the_document_describes_every_command() -> None:
    for command in ("apply", "restore", "rollback", "check", "status"):
        assert command in SPEC, command
    assert {"changed", "exit_code", "findings", "files", "journal_entry", "warnings"} <= set(FRAME)
    assert {"before", "after", "secret"} <= set(FILE)
    assert {"code", "severity", "message"} <= set(FINDING)


@needs_postfix
def test_apply_json(scratch, capsys) -> None:
    config_dir, state_dir, profile = scratch
    main_cf = (config_dir / "main.cf").read_text()
    code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--dry-run", "--json")
    assert code == exitcodes.CHANGED and doc["dry_run"] is True
    check_schema(doc, "apply")
    assert (config_dir / "main.cf").read_text() == main_cf  # nothing written
    by_path = {f["path"]: f for f in doc["files"]}
    cf = by_path[str(config_dir / "main.cf")]
    assert cf["action"] == "modify" and cf["before"] == main_cf
    assert "smtpd_helo_required = yes" in cf["after"]
    assert by_path[str(config_dir / "pfwizard" / "allow")]["action"] == "create"
    assert "--- a" in err and "dry run: nothing written" in err  # the human diff: stderr

    code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--json")
    assert code == exitcodes.CHANGED and doc["journal_entry"] == "1"
    check_schema(doc, "apply")
    assert doc["checked"] is True and doc["error"] is None
    assert {"order-bypass", "dns-dependent"} <= {f["code"] for f in doc["findings"]}
    # Postfix's warnings (the fixture names MiaB's sqlite maps, absent here) are kept apart,
    # each once, never mixed with the progress lines, which stay on stderr.
    assert doc["warnings"] and len(doc["warnings"]) == len(set(doc["warnings"]))
    assert all("warning" in w for w in doc["warnings"])
    assert "write: ok" in err and "write: ok" not in json.dumps(doc)
    assert "smtpd_helo_required = yes" in (config_dir / "main.cf").read_text()

    code, doc, _ = pf(capsys, config_dir, state_dir, "apply", str(profile), "--json")
    assert code == exitcodes.OK and doc["changed"] is False and doc["files"] == []
    check_schema(doc, "apply")
    code, doc, _ = pf(capsys, config_dir, state_dir, "apply", str(profile), "--dry-run", "--json")
    assert code == exitcodes.OK and doc["changed"] is False


def test_a_bad_profile_is_a_document_naming_file_and_line(scratch, capsys) -> None:
    config_dir, state_dir, profile = scratch
    profile.write_text(
        "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
        "      - insert: permit\n        at: middle\n"
    )
    code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--json")
    assert code == exitcodes.ERROR
    check_schema(doc, doc["command"], ())
    assert doc["error"].startswith(f"{profile}, line 6: ")
    assert f"pfwizard: {profile}, line 6" in err  # the admin's line, unchanged


@needs_postfix
def test_restore_json(scratch, capsys) -> None:
    config_dir, state_dir, profile = scratch
    assert (
        main(
            [
                "--config-dir",
                str(config_dir),
                "--state-dir",
                str(state_dir),
                "--no-reload",
                "apply",
                str(profile),
            ]
        )
        == exitcodes.CHANGED
    )
    run_setup_on(config_dir / "main.cf", release_values())  # a MiaB upgrade
    capsys.readouterr()
    upgraded = (config_dir / "main.cf").read_text()
    code, doc, _ = pf(capsys, config_dir, state_dir, "restore", "--json")
    assert code == exitcodes.REFUSED and "--yes" in doc["error"]  # --json asks nothing
    check_schema(doc, "restore")
    assert (config_dir / "main.cf").read_text() == upgraded
    code, doc, _ = pf(capsys, config_dir, state_dir, "restore", "--json", "--dry-run")
    assert code == exitcodes.CHANGED and doc["dry_run"]
    assert [f["role"] for f in doc["files"]] == ["main.cf"]
    code, doc, _ = pf(capsys, config_dir, state_dir, "restore", "--json", "--yes")
    assert code == exitcodes.CHANGED and doc["journal_entry"] == "2" and doc["checked"]
    check_schema(doc, "restore")
    assert doc["files"][0]["after"] == (config_dir / "main.cf").read_text()
    code, doc, _ = pf(capsys, config_dir, state_dir, "restore", "--json", "--yes")
    assert code == exitcodes.OK and not doc["changed"]


@needs_postfix
def test_rollback_json(scratch, capsys) -> None:
    config_dir, state_dir, profile = scratch
    before = (config_dir / "main.cf").read_text()
    assert (
        main(
            [
                "--config-dir",
                str(config_dir),
                "--state-dir",
                str(state_dir),
                "--no-reload",
                "apply",
                str(profile),
            ]
        )
        == exitcodes.CHANGED
    )
    capsys.readouterr()
    code, doc, _ = pf(capsys, config_dir, state_dir, "rollback", "--json")
    assert code == exitcodes.OK
    assert [e["id"] for e in doc.pop("entries")] == ["1"] and doc.pop("unreadable") == []
    check_schema(doc, "rollback", ())
    code, doc, _ = pf(capsys, config_dir, state_dir, "rollback", "--list", "--json")
    assert [e["outcome"] for e in doc["entries"]] == ["applied"]
    code, doc, _ = pf(capsys, config_dir, state_dir, "rollback", "--show", "1", "--json")
    assert doc.pop("entry")["diff"].startswith("--- ")
    check_schema(doc, "rollback", ())

    code, doc, _ = pf(capsys, config_dir, state_dir, "rollback", "--to", "1", "--json", "--dry-run")
    assert code == exitcodes.CHANGED and doc["rolled_back"] == "1"
    check_schema(doc, "rollback", ("rolled_back",))
    actions = {Path(f["path"]).name: f["action"] for f in doc["files"]}
    # customizations.yaml goes back with the change it recorded (none before it).
    assert actions == {
        "main.cf": "modify",
        "allow": "delete",
        "own_domains": "delete",
        "own_domains.db": "delete",
        "customizations.yaml": "delete",
    }
    code, doc, _ = pf(capsys, config_dir, state_dir, "rollback", "--to", "1", "--json")
    assert code == exitcodes.REFUSED and "--yes" in doc["error"]
    code, doc, err = pf(capsys, config_dir, state_dir, "rollback", "--to", "1", "--json", "--yes")
    assert code == exitcodes.CHANGED and doc["journal_entry"] == "2"
    check_schema(doc, "rollback")
    assert (config_dir / "main.cf").read_text() == before
    assert "write: ok" in err
    code, doc, _ = pf(capsys, config_dir, state_dir, "rollback", "--to", "1", "--json", "--yes")
    assert code == exitcodes.REFUSED and "changed after entry 1" in doc["error"]


def test_check_json(tmp_path, capsys) -> None:
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    code, doc, _ = pf(capsys, config_dir, state_dir, "check", "--json")
    check_schema(doc, "check")
    assert sum(doc["counts"].values()) == len(doc["findings"]) > 0
    assert code == (exitcodes.FINDINGS if doc["counts"]["danger"] else exitcodes.OK)
    code, doc, _ = pf(capsys, config_dir, state_dir, "check", "--json", "--min-severity", "caution")
    assert all(f["severity"] != "info" for f in doc["findings"])
    (config_dir / "main.cf").write_text("smtpd_helo_restrictions = permit\n  \x00bad\n")
    code, doc, _ = pf(capsys, config_dir, state_dir, "check", "--json")
    assert code == exitcodes.ERROR and "main.cf" in doc["error"]
    check_schema(doc, doc["command"], ())


def test_status_json(tmp_path, capsys) -> None:
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    code, doc, _ = pf(capsys, config_dir, state_dir, "status", "--json")
    assert code == exitcodes.FINDINGS and doc["in_sync"] is False
    check_schema(doc, "status")
    assert doc["danger"] == [] or doc["findings"]


@needs_postfix
def test_a_private_table_is_never_in_the_document(scratch, tmp_path, capsys) -> None:
    config_dir, state_dir, _ = scratch
    secret = "alice:s3cret-Zq9"
    src = config_dir / "pfwizard" / "sasl_passwd"
    profile = tmp_path / "private.yaml"
    profile.write_text(
        f"version: 1\ntables:\n  {src}:\n    type: hash\n"
        f"    content: |\n      [relay.example]:587 {secret}\n"
    )
    src.parent.mkdir()
    src.write_text("[relay.example]:587 alice:old-s3cret\n")
    src.chmod(0o600)
    for argv in (["--dry-run"], []):
        code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--json", *argv)
        assert code == exitcodes.CHANGED, err
        text = json.dumps(doc)
        assert "s3cret" not in text and "s3cret" not in err
        # The table; and customizations.yaml, which records it, when the change is made.
        [f] = [f for f in doc["files"] if Path(f["path"]) == src]
        assert {Path(f["path"]).name for f in doc["files"]} <= {
            "sasl_passwd",
            "customizations.yaml",
        }
        assert (f["secret"], f["mode"], f["before"], f["after"]) == (True, "0600", None, None)
        assert "not shown" in f["diff"]
    assert secret in src.read_text()


@needs_postfix
def test_a_refused_change_lists_the_finding_that_blocked_it(scratch, tmp_path, capsys) -> None:
    config_dir, state_dir, _ = scratch
    profile = tmp_path / "relay.yaml"
    profile.write_text(
        "version: 1\nparameters:\n  smtpd_relay_restrictions:\n    value: permit\n"
        "  smtpd_recipient_restrictions:\n    value: permit\n"
    )
    before = (config_dir / "main.cf").read_bytes()
    code, doc, _ = pf(capsys, config_dir, state_dir, "apply", str(profile), "--json")
    assert code == exitcodes.REFUSED and doc["changed"] is False
    check_schema(doc, "apply")
    assert doc["error"].startswith("blocked by 1 danger finding")
    [relay] = [f for f in doc["findings"] if f["severity"] == "danger"]
    assert relay["code"] == "open-relay" and relay["acceptable"] is False
    assert doc["journal_entry"] == "1"  # the refusal is journaled too
    assert (config_dir / "main.cf").read_bytes() == before


def test_restore_install_hook_json(tmp_path, capsys) -> None:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    hooks = tmp_path / "hooks"
    code, doc, _ = pf(
        capsys,
        config_dir,
        state_dir,
        "restore",
        "--install-hook",
        "systemd",
        "--hook-dir",
        str(hooks),
        "--json",
    )
    assert code == exitcodes.OK
    hook = doc.pop("hook")
    check_schema(doc, "restore", ())
    assert hook["kind"] == "systemd"
    assert f"installed {hooks / 'pfwizard-restore.path'}" in hook["messages"]
