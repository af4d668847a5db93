"""The after-upgrade hook: installing it (a systemd path unit watching main.cf and master.cf,
or a cron entry), and what its runs leave behind for the admin.

A hook that fails in silence is worse than none: the admin believes the customisations come
back after every upgrade.  So each hook run (``restore --hook``) records its outcome in the
state directory (``hook-last-run.json``, read by ``pfwizard status``) and in the system log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pfwizard import exitcodes

SYSTEMD_DIR = Path("/etc/systemd/system")
CRON_DIR = Path("/etc/cron.d")
OUTCOME_FILE = "hook-last-run.json"
SYSTEMD_BOOTED = Path("/run/systemd/system")
"""sd_booted(3): systemd is the init system when this directory exists."""
CRON_DAEMONS = (Path("/usr/sbin/cron"), Path("/usr/sbin/crond"), Path("/usr/sbin/anacron"))
_FILES = {
    "systemd": ("pfwizard-restore.path", "pfwizard-restore.service"),
    "cron": ("pfwizard-restore.cron",),
}


class HookError(Exception):
    """The hook cannot be installed here (no systemd, no cron, systemctl failed)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _asset(name: str) -> str:
    from importlib import resources  # only to install the hook; status reads its outcome

    return resources.files("pfwizard.assets").joinpath(name).read_text(encoding="utf-8")


def _pfwizard_command() -> str:
    """The program the hook runs, by full path: cron's PATH has neither pyenv shims nor
    /usr/local/sbin.  The console script beside this Python, else ``python -m pfwizard``."""
    beside = Path(sys.executable).parent / "pfwizard"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return f"{sys.executable} -m pfwizard"


def render(name: str, config_dir: str, state_dir: str) -> str:
    return (
        _asset(name)
        .replace("@CONFIG_DIR@", str(Path(config_dir).resolve()))
        .replace("@STATE_DIR@", str(Path(state_dir).resolve()))
        .replace("@PFWIZARD@", _pfwizard_command())
    )


def _can_take(kind: str) -> None:
    """Refuse (nothing written) when this machine cannot run the hook."""
    if kind == "systemd":
        if not SYSTEMD_BOOTED.is_dir() or shutil.which("systemctl") is None:
            raise HookError(
                "systemd is not running on this machine: the path unit would "
                "never start; use --install-hook cron",
                exitcodes.REFUSED,
            )
    elif not any(p.exists() for p in CRON_DAEMONS):
        raise HookError(
            "no cron daemon is installed (/usr/sbin/cron): the entry would never "
            "run; install cron or use --install-hook systemd",
            exitcodes.REFUSED,
        )


def install_hook(
    kind: str, config_dir: str, state_dir: str, target_dir: str | None = None
) -> list[str]:
    """Write the hook files; enable the path unit when installing into the system.

    Raises HookError when the machine cannot take the hook, or systemctl fails (the files
    written are then removed again)."""
    system = target_dir is None
    if system:
        _can_take(kind)
    where = Path(target_dir) if target_dir else (SYSTEMD_DIR if kind == "systemd" else CRON_DIR)
    where.mkdir(parents=True, exist_ok=True)
    said: list[str] = []
    written: list[Path] = []
    for name in _FILES[kind]:
        # cron ignores files in /etc/cron.d whose names contain a dot.
        dest = where / (name.replace(".cron", "") if kind == "cron" else name)
        dest.write_text(render(name, config_dir, state_dir), encoding="utf-8")
        dest.chmod(0o644)
        written.append(dest)
        said.append(f"installed {dest}")
    if kind == "systemd":
        steps = [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "pfwizard-restore.path"],
        ]
        if not system:
            return [*said, "now run: " + " && ".join(" ".join(a) for a in steps)]
        for argv in steps:
            try:
                res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                ok, why = res.returncode == 0, (res.stderr or res.stdout).strip()
            except (OSError, subprocess.TimeoutExpired) as exc:
                ok, why = False, str(exc)
            if not ok:
                for p in written:
                    p.unlink(missing_ok=True)
                raise HookError(
                    f"{' '.join(argv)} failed: {why}; the unit files were removed again",
                    exitcodes.FAILED,
                )
            said.append(f"{' '.join(argv)}: ok")
    return said


# ---- what the hook's runs leave behind -------------------------------------------------------


@dataclass(frozen=True)
class HookOutcome:
    """How the last after-upgrade hook run ended."""

    time: float
    exit_code: int
    message: str
    open_conflicts: int = 0
    """Conflicts the run left open (``--on-conflict=skip``): it restored what it could, but a
    customisation is still not in force; never a clean success."""

    @property
    def failed(self) -> bool:
        return self.exit_code not in (exitcodes.OK, exitcodes.CHANGED)

    @property
    def clean(self) -> bool:
        return not self.failed and not self.open_conflicts

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.time))


def record_outcome(
    state_dir: Path | str,
    exit_code: int,
    message: str,
    open_conflicts: int = 0,
    changes: Sequence[str] = (),
) -> HookOutcome:
    """Keep the outcome of one hook run in the state directory and in the system log: one
    line for the run, with what the engine would have logged on its own (``changes``, kept
    by ``trail.held``) folded in."""
    # Loaded here, not at import: `pfwizard status` only reads the outcome.
    from pfwizard import trail
    from pfwizard.engine.atomic import AtomicWriter, FileMeta

    outcome = HookOutcome(time.time(), exit_code, message, open_conflicts)
    failed = outcome.failed
    verdict = (
        "FAILED"
        if failed
        else f"left {open_conflicts} conflict(s) OPEN"
        if open_conflicts
        else "ok"
    )
    text = f"after-upgrade restore {verdict} (exit {exit_code}): {message}"
    if changes:
        text += f" [{'; '.join(changes)}]"
    path = Path(state_dir) / OUTCOME_FILE
    try:
        AtomicWriter().write(
            path,
            json.dumps(asdict(outcome)).encode() + b"\n",
            FileMeta(0o600, os.geteuid(), os.getegid()),
        )
    except OSError as exc:
        failed = True
        text += f"; cannot record the hook's outcome in {path}: {exc.strerror or exc}"
    trail.log(text, error=failed, warning=not outcome.clean)
    return outcome


def last_outcome(state_dir: Path | str) -> HookOutcome | None:
    """The last hook run's outcome, if the hook ever ran (unreadable: None)."""
    try:
        data = json.loads((Path(state_dir) / OUTCOME_FILE).read_text())
        return HookOutcome(
            float(data["time"]),
            int(data["exit_code"]),
            str(data["message"]),
            int(data.get("open_conflicts", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---- is it installed? --------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalledHook:
    """Where the after-upgrade hook is installed."""

    kind: str
    """``systemd`` or ``cron``."""
    path: Path
    """The file that runs it (the systemd service, or the cron entry)."""


def installed_hook(config_dir: Path | str, where: Path | str | None = None) -> InstalledHook | None:
    """The after-upgrade hook installed for ``config_dir`` (None: there is none), looked for
    in /etc/systemd/system and /etc/cron.d, or only in ``where`` (``--hook-dir``)."""
    want = f"--config-dir {Path(config_dir).resolve()} "
    places = (
        ("systemd", Path(where) if where else SYSTEMD_DIR, "pfwizard-restore.service"),
        ("cron", Path(where) if where else CRON_DIR, "pfwizard-restore"),
    )
    for kind, directory, name in places:
        path = directory / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if want in text:
            return InstalledHook(kind, path)
    return None


def preferred_kind() -> str:
    """systemd where it runs this machine (it reacts at once), else cron."""
    return (
        "systemd" if SYSTEMD_BOOTED.is_dir() and shutil.which("systemctl") is not None else "cron"
    )
