"""The Ansible collection (ansible/ansible_collections/pfwizard/postfix), run by the real
ansible-playbook (ansible-core from the package index, the test extra) against localhost
(``connection: local``) on a scratch copy of a MiaB v75 configuration, never reloading
anything (``reload: false``).

The module: ``--check --diff`` shows the diff and writes nothing, run 1 changed, run 2
unchanged, a bad profile fails with pfwizard's own words naming file and line. The role:
installs pfwizard from this checkout into a virtual environment, places the profile,
applies it and writes the restore hook; its second run changes nothing.

The PLAY RECAP of each run is printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import box
from tests.test_apply_profile import PROFILE

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / "ansible"
PLAYBOOK = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
needs_ansible = pytest.mark.skipif(
    not os.access(PLAYBOOK, os.X_OK),
    reason="ansible-core is not installed (pip install '.[test]' installs it)",
)
pytestmark = [needs_postfix, needs_ansible]


def wrapper(tmp: Path) -> Path:
    """A ``pfwizard`` program that runs this checkout's code (as the installed one would)."""
    exe = tmp / "bin" / "pfwizard"
    exe.parent.mkdir()
    exe.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m pfwizard "$@"\n')
    exe.chmod(0o755)
    return exe


def play(tmp: Path, playbook: str, *options: str) -> tuple[int, str, dict[str, int]]:
    """ansible-playbook; returns its exit code, output and the recap's counters."""
    book = tmp / "site.yml"
    book.write_text(playbook)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "LC_ALL": "C.UTF-8",
    }
    env.pop("PYTHONPATH", None)  # the module finds this checkout through the wrapper only
    res = subprocess.run(
        [PLAYBOOK, "-i", "localhost,", "-c", "local", str(book), *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp,
    )
    out = res.stdout + res.stderr
    recap = out[out.index("PLAY RECAP") :].strip() if "PLAY RECAP" in out else out[-2000:]
    print(f"\n$ ansible-playbook site.yml {' '.join(options)}\n{recap}")
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap)}
    return res.returncode, out, counts


def module_play(profile: Path, config_dir: Path, state_dir: Path, exe: Path) -> str:
    return f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply the site profile
      pfwizard.postfix.pfwizard_profile:
        profile: {profile}
        config_dir: {config_dir}
        state_dir: {state_dir}
        reload: false
        executable: {exe}
"""


def test_module_check_diff_changed_unchanged_and_a_bad_profile(tmp_path: Path) -> None:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir))
    book = module_play(profile, config_dir, state_dir, wrapper(tmp_path))
    main_cf = (config_dir / "main.cf").read_bytes()

    rc, out, recap = play(tmp_path, book, "--check", "--diff")
    assert rc == 0 and recap["changed"] == 1 and recap["failed"] == 0, out
    assert "+smtpd_helo_required = yes" in out  # the diff, per file
    assert f"after: {config_dir}/pfwizard/allow" in out and "+/\\.iphmx\\.com$/ PERMIT" in out
    assert (config_dir / "main.cf").read_bytes() == main_cf  # nothing written
    assert not (config_dir / "pfwizard").exists() and not state_dir.exists()

    rc, out, recap = play(tmp_path, book)
    assert rc == 0 and recap["changed"] == 1 and recap["ok"] == 1, out
    assert MainCf.read(config_dir / "main.cf").get("smtpd_helo_required") == "yes"
    assert "customizations.yaml" in os.listdir(state_dir)

    rc, out, recap = play(tmp_path, book)
    assert rc == 0 and recap["changed"] == 0 and recap["ok"] == 1, out

    profile.write_text(
        "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
        "      - insert: permit\n        at: middle\n"
    )
    written = (config_dir / "main.cf").read_bytes()
    rc, out, recap = play(tmp_path, book)
    assert rc != 0 and recap["failed"] == 1, out
    assert (
        f"{profile}, line 6: smtpd_sender_restrictions operation 1: 'at' must be start "
        "or end" in out
    )
    assert (config_dir / "main.cf").read_bytes() == written


def role_play(tmp: Path, config_dir: Path, state_dir: Path, **extra: object) -> str:
    content = textwrap.indent(PROFILE.format(cfg=config_dir), " " * 10)
    more = "".join(f"        {k}: {v}\n" for k, v in extra.items())
    return f"""
- hosts: localhost
  gather_facts: false
  roles:
    - role: pfwizard.postfix.pfwizard
      vars:
        pfwizard_profile_path: {tmp}/etc-pfwizard/profile.yaml
        pfwizard_profile_content: |
{content}
        pfwizard_config_dir: {config_dir}
        pfwizard_state_dir: {state_dir}
        pfwizard_reload: false
        pfwizard_hook: systemd
        pfwizard_hook_dir: {tmp}/hooks
{more}"""


def test_role_places_applies_and_hooks(tmp_path: Path) -> None:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    exe = wrapper(tmp_path)
    book = role_play(
        tmp_path, config_dir, state_dir, pfwizard_install="false", pfwizard_executable=exe
    )
    main_cf = (config_dir / "main.cf").read_bytes()
    rc, out, recap = play(tmp_path, book, "--check", "--diff")
    assert rc == 0 and recap["failed"] == 0 and recap["changed"] >= 2, out
    assert "+smtpd_helo_required = yes" in out
    assert (config_dir / "main.cf").read_bytes() == main_cf
    assert not (tmp_path / "etc-pfwizard").exists() and not (tmp_path / "hooks").exists()

    rc, out, recap = play(tmp_path, book)
    assert rc == 0 and recap["failed"] == 0, out
    assert recap["changed"] == 4, out  # profile dir, profile, apply, hook
    assert (tmp_path / "etc-pfwizard" / "profile.yaml").stat().st_mode & 0o777 == 0o600
    assert MainCf.read(config_dir / "main.cf").get("smtpd_helo_required") == "yes"
    unit = (tmp_path / "hooks" / "pfwizard-restore.service").read_text()
    assert f"--config-dir {config_dir} --state-dir {state_dir} restore" in unit
    assert (tmp_path / "hooks" / "pfwizard-restore.path").is_file()

    rc, out, recap = play(tmp_path, book)
    assert rc == 0 and recap["changed"] == 0 and recap["failed"] == 0, out


@pytest.mark.slow
def test_role_installs_pfwizard_from_a_checkout(tmp_path: Path) -> None:
    """The role's own install: a virtual environment made from this checkout (seeing the
    test Python's packages, so nothing but the build backend is fetched), linked."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    venv, link = tmp_path / "opt", tmp_path / "sbin" / "pfwizard"
    link.parent.mkdir()
    book = role_play(
        tmp_path,
        config_dir,
        state_dir,
        pfwizard_source=REPO,
        pfwizard_venv=venv,
        pfwizard_venv_site_packages="true",
        pfwizard_python=sys.executable,
        pfwizard_link=link,
    )
    rc, out, recap = play(tmp_path, book)
    assert rc == 0 and recap["failed"] == 0, out
    assert recap["changed"] == 6, out  # pip, link, profile dir, profile, apply, hook
    assert os.path.realpath(link) == str(venv / "bin" / "pfwizard")
    res = subprocess.run([str(link), "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("pfwizard "), res
    unit = (tmp_path / "hooks" / "pfwizard-restore.service").read_text()
    assert f"ExecStart={venv}/bin/pfwizard --config-dir {config_dir}" in unit
    assert MainCf.read(config_dir / "main.cf").get("smtpd_helo_required") == "yes"


def test_module_documentation_is_what_ansible_doc_reads(tmp_path: Path) -> None:
    """ansible-doc parses the module's DOCUMENTATION: every option the module takes, with
    check mode and diff declared."""
    import json

    doc_tool = str(Path(PLAYBOOK).with_name("ansible-doc"))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",
    }
    res = subprocess.run(
        [doc_tool, "-j", "pfwizard.postfix.pfwizard_profile"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)["pfwizard.postfix.pfwizard_profile"]["doc"]
    assert set(doc["options"]) == {
        "profile",
        "content",
        "config_dir",
        "state_dir",
        "reload",
        "on_conflict",
        "miab_dir",
        "confirm_within",
        "executable",
    }
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"


def test_module_check_mode_fails_where_the_real_run_would(tmp_path: Path) -> None:
    """Check mode runs the real run's checks: a change pfwizard would refuse (an open relay)
    fails in ``--check`` with the same message, instead of reporting "changed"."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text('version: 1\nparameters:\n  mynetworks:\n    value: "0.0.0.0/0"\n')
    book = module_play(profile, config_dir, state_dir, wrapper(tmp_path))
    main_cf = (config_dir / "main.cf").read_bytes()

    rc, out, recap = play(tmp_path, book, "--check", "--diff")
    assert rc != 0 and recap["failed"] == 1 and recap["changed"] == 0, out
    assert "open relay" in out and "danger finding" in out
    assert (config_dir / "main.cf").read_bytes() == main_cf and not state_dir.exists()

    rc, out, recap = play(tmp_path, book)
    assert rc != 0 and recap["failed"] == 1, out  # the real run refuses it the same way
    assert "open relay" in out and (config_dir / "main.cf").read_bytes() == main_cf
