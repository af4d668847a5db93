"""Danger findings the admin accepted by name, remembered so that the restore hook can put
the same change back after a MiaB upgrade.

``--accept-risk CODE`` (or the wizard's confirmation) lets one change through the gate. The
change is then recorded as intent, and the after-upgrade hook replays it unattended: without a
memory of the acceptance, the gate would refuse the very table the admin accepted, every
upgrade, and the customisation would stay lost. What is kept is narrow: the finding's code
and the restriction entry it is about (``check_sender_access regexp:/etc/postfix/x``), so the
same code on another table is still refused. Nothing here can let an unacceptable finding
(an open relay) through.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from pfwizard import inputs
from pfwizard.engine.atomic import AtomicWriter, FileMeta
from pfwizard.engine.validate import Gate
from pfwizard.errors import ConfigError
from pfwizard.findings import Finding
from pfwizard.maincf import MainCf

ACCEPTED_FILE = "accepted-risks.json"
MAX_BYTES = 1 << 20

Accepted = tuple[str, str]
"""(finding code, restriction entry as written in main.cf)."""


def load(state_dir: str | Path) -> set[Accepted]:
    """What was accepted before (an unreadable or odd file: nothing)."""
    path = Path(state_dir) / ACCEPTED_FILE
    try:
        data = inputs.read_bytes_or_none(path, MAX_BYTES, what="accepted risks")
        if data is None:
            return set()
        items = json.loads(data.decode("utf-8"))
        return {(str(i["code"]), str(i["entry"])) for i in items}
    except (ConfigError, ValueError, TypeError, KeyError):
        return set()


def remember(state_dir: str | Path, accepted: Iterable[Accepted]) -> None:
    new = set(accepted)
    if not new:
        return
    every = load(state_dir) | new
    data = json.dumps([{"code": c, "entry": e} for c, e in sorted(every)], indent=1)
    AtomicWriter().write(
        Path(state_dir) / ACCEPTED_FILE,
        data.encode() + b"\n",
        FileMeta(0o600, os.geteuid(), os.getegid()),
    )


def live_entries(f: Finding, stage_dir: Path, live_dir: Path) -> list[str]:
    """``f``'s entry as main.cf may say it (the live directory's path as given, or resolved):
    the gate reads a staged copy whose table paths point into the copy."""
    if not f.entry:
        return []
    return list(
        dict.fromkeys(
            f.entry.replace(str(stage_dir), d) for d in (os.path.realpath(live_dir), str(live_dir))
        )
    )


def accepting(
    gate: Gate,
    state_dir: str | Path,
    live_dir: Path,
    codes: frozenset[str] = frozenset(),
    noted: list[Accepted] | None = None,
) -> Gate:
    """``gate`` minus the acceptable findings the admin accepted: by ``codes`` now (noted in
    ``noted``, to remember once the change is in), or remembered for the same entry before."""
    before = load(state_dir)

    def lenient(cf: MainCf, config_dir: Path) -> list[Finding]:
        kept = []
        for f in gate(cf, config_dir):
            entries = live_entries(f, config_dir, live_dir)
            if f.acceptable and f.code in codes:
                if noted is not None and entries:
                    noted.append((f.code, entries[0]))
                continue
            if f.acceptable and any((f.code, e) in before for e in entries):
                continue
            kept.append(f)
        return kept

    return lenient
