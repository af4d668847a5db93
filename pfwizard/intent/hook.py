"""Installing the after-upgrade hook: a systemd path unit watching main.cf, or a cron entry."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

SYSTEMD_DIR = Path("/etc/systemd/system")
CRON_DIR = Path("/etc/cron.d")
_FILES = {
    "systemd": ("pfwizard-restore.path", "pfwizard-restore.service"),
    "cron": ("pfwizard-restore.cron",),
}


def _asset(name: str) -> str:
    return resources.files("assets").joinpath(name).read_text(encoding="utf-8")


def _pfwizard_command() -> str:
    found = shutil.which("pfwizard")
    return found if found else f"{sys.executable} -m pfwizard"


def render(name: str, config_dir: str, state_dir: str) -> str:
    return (_asset(name).replace("@CONFIG_DIR@", str(Path(config_dir).resolve()))
            .replace("@STATE_DIR@", str(Path(state_dir).resolve()))
            .replace("@PFWIZARD@", _pfwizard_command()))


def install_hook(kind: str, config_dir: str, state_dir: str,
                 target_dir: str | None = None) -> list[str]:
    """Write the hook files; enable the path unit when installing into the system."""
    default = SYSTEMD_DIR if kind == "systemd" else CRON_DIR
    where = Path(target_dir) if target_dir else default
    where.mkdir(parents=True, exist_ok=True)
    said: list[str] = []
    for name in _FILES[kind]:
        # cron ignores files in /etc/cron.d whose names contain a dot.
        dest = where / (name.replace(".cron", "") if kind == "cron" else name)
        dest.write_text(render(name, config_dir, state_dir), encoding="utf-8")
        dest.chmod(0o644)
        said.append(f"installed {dest}")
    if kind == "systemd":
        steps = [["systemctl", "daemon-reload"],
                 ["systemctl", "enable", "--now", "pfwizard-restore.path"]]
        if target_dir is None and shutil.which("systemctl"):
            for argv in steps:
                res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                said.append(f"{' '.join(argv)}: {'ok' if res.returncode == 0 else res.stderr}")
        else:
            said += ["now run: " + " && ".join(" ".join(a) for a in steps)]
    return said
