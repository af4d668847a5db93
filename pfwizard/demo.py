"""The bundled demo: a temporary copy of MiaB v75's configuration to try pfwizard on.

Works after a plain (non-editable) ``pip install``: the files are package data of ``assets.demo``.
Never touches the system's Postfix: the demo config directory is a fresh temp dir.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

DEMO_FILES = ("main.cf", "master.cf")


def prepare_demo(dest: Path | None = None) -> Path:
    """Copy the demo config into ``dest`` (or a new temp dir) and return that directory."""
    target = dest or Path(tempfile.mkdtemp(prefix="pfwizard-demo-"))
    (target / "etc").mkdir(parents=True, exist_ok=True)
    src = resources.files("assets.demo")
    for name in DEMO_FILES:
        (target / "etc" / name).write_bytes(src.joinpath(name).read_bytes())
    (target / "state").mkdir(exist_ok=True, mode=0o700)
    return target
