"""The bundled demo: a temporary copy of MiaB v75's configuration to try pfwizard on.

Works after a plain (non-editable) ``pip install``: the files are package data of ``assets.demo``.
Never touches the system's Postfix: the demo config directory is a fresh temp dir. A small
sample mail log comes with it, its time stamps moved to the last few days, so that the wizard's
list of recent rejects has something to show.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

DEMO_FILES = ("main.cf", "master.cf")
DEMO_LOG = "mail.log"
_STAMP_RE = re.compile(r"^([A-Z][a-z]{2}) ([ \d]\d) (\d\d:\d\d:\d\d) ")


def prepare_demo(dest: Path | None = None) -> Path:
    """Copy the demo config into ``dest`` (or a new temp dir) and return that directory."""
    target = dest or Path(tempfile.mkdtemp(prefix="pfwizard-demo-"))
    (target / "etc").mkdir(parents=True, exist_ok=True)
    src = resources.files("pfwizard.assets.demo")
    for name in DEMO_FILES:
        (target / "etc" / name).write_bytes(src.joinpath(name).read_bytes())
    (target / "state").mkdir(exist_ok=True, mode=0o700)
    (target / DEMO_LOG).write_text(restamp(src.joinpath(DEMO_LOG).read_text()))
    return target


def remove_demo(root: Path) -> None:
    """Remove a copy ``prepare_demo`` made (only a ``pfwizard-demo-*`` directory)."""
    if root.name.startswith("pfwizard-demo-"):
        shutil.rmtree(root, ignore_errors=True)


def restamp(log: str, now: dt.datetime | None = None) -> str:
    """The sample log with its classic syslog stamps moved so the newest is an hour ago
    (the spacing between lines kept)."""
    now = now or dt.datetime.now()
    parsed: list[tuple[dt.datetime | None, str]] = []
    for line in log.splitlines():
        m = _STAMP_RE.match(line)
        when = (
            dt.datetime.strptime(
                f"2000 {m.group(1)} {m.group(2).strip()} {m.group(3)}", "%Y %b %d %H:%M:%S"
            )
            if m
            else None
        )
        parsed.append((when, line[m.end() :] if m else line))
    stamps = [w for w, _ in parsed if w is not None]
    if not stamps:
        return log
    shift = now - dt.timedelta(hours=1) - max(stamps)
    out = []
    for when, rest in parsed:
        if when is None:
            out.append(rest)
            continue
        t = when + shift
        out.append(f"{t:%b} {t.day:2d} {t:%H:%M:%S} {rest}")
    return "\n".join(out) + "\n"
