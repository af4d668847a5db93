"""Validate a change before writing it: on a staged copy of the config directory.

``postfix check`` passing on the live directory is not enough (a broken file would already be
in place for the next smtpd), so the whole config directory is copied into the state
directory, the change is applied there, and Postfix is asked about the copy:

- ``postfix -c STAGE check`` (exit code and its own words), first: a broken main.cf makes
  every other Postfix command fail with the same message;
- ``postconf -c STAGE -n`` warnings that the live config does not have ("unused parameter"
  is how a misspelt name shows);
- ``postmap`` of every staged indexed table, ``postmap -q`` of regexp/pcre/cidr tables (a broken
  pattern is otherwise only a warning at run time);
- when master.cf changes: ``postconf -P`` must parse it, and the maps its changed ``-o``
  options name must open (``mastercheck``);
- the gate (pfwizard's analyser), after postmap so that new indexed tables exist in the
  copy: a danger finding blocks.

main.cf and master.cf often name tables by absolute path in the live directory; in the copy
those paths are pointed at the staged files, so Postfix checks the new tables, not the old ones.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pfwizard.engine import mastercheck
from pfwizard.engine.atomic import TEMP_GLOBS
from pfwizard.engine.changeset import INDEX_SUFFIX, INTENT_ROLE, PROBED_TYPES, Plan
from pfwizard.engine.errors import StepFailed
from pfwizard.engine.listcheck import table_list_findings
from pfwizard.engine.pftools import PostfixTools, warning_lines
from pfwizard.findings import Finding, Severity
from pfwizard.maincf import MainCf
from pfwizard.postfix import Result

Gate = Callable[[MainCf, Path], list[Finding]]


class Stage:
    """A private copy of the config directory with the plan applied (removed on exit)."""

    def __init__(self, plan: Plan, state_dir: Path) -> None:
        self.plan = plan
        self.live = plan.config_dir
        self.live_real = Path(os.path.realpath(plan.config_dir))
        self.root = Path(tempfile.mkdtemp(prefix="stage-", dir=state_dir))
        self.dir = self.root / "etc"

    def __enter__(self) -> Stage:
        shutil.copytree(
            self.live_real, self.dir, symlinks=True, ignore=shutil.ignore_patterns(*TEMP_GLOBS)
        )
        for f in [*self.plan.files, *self.plan.indexes]:
            if f.role == INTENT_ROLE:  # in the state directory: nothing Postfix reads
                continue
            staged = self.staged(f.path)
            if f.after is None:
                staged.unlink(missing_ok=True)
            else:
                staged.parent.mkdir(parents=True, exist_ok=True)
                staged.write_bytes(f.after)
        for name in ("main.cf", "master.cf"):
            p = self.dir / name
            if p.is_file() and not p.is_symlink():
                p.write_bytes(self.repoint(p.read_bytes()))
        # Our own copy: backdating spares every Postfix command here the ~2 s cool-down.
        past = time.time() - 10
        for dirpath, _dirs, files in os.walk(self.dir):
            for n in files:
                p = Path(dirpath) / n
                if not p.is_symlink():
                    os.utime(p, (past, past))
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def staged(self, live_path: Path) -> Path:
        return self.dir / Path(live_path).relative_to(self.live_real)

    def repoint(self, data: bytes) -> bytes:
        """Live-directory paths (``/etc/postfix/x``) → staged paths."""
        for live in {str(self.live), str(self.live_real)}:
            data = data.replace(live.rstrip("/").encode() + b"/", str(self.dir).encode() + b"/")
        return data

    def unstage(self, text: str) -> str:
        """Staged paths in Postfix's messages → the live paths the admin knows."""
        return text.replace(str(self.dir), str(self.live_real))


def never_acceptable(gate: Gate) -> Gate:
    """``gate`` keeping only the findings no admin may accept (open relay, unknown
    restriction, undefined restriction class...): rollback and revert put back what Postfix
    ran before, so acceptable dangers do not stop them, but these do."""

    def strict(cf: MainCf, config_dir: Path) -> list[Finding]:
        return [f for f in gate(cf, config_dir) if not f.acceptable]

    return strict


def run_gate(gate: Gate | None, stage: Stage) -> list[Finding]:
    """The gate's findings plus the table-list check, which runs on every path."""
    found = table_list_findings(stage.dir, stage.live)
    if gate is None:
        return found
    cf = MainCf.read(stage.dir / "main.cf")
    return found + gate(cf, stage.dir)


def _table_checks(stage: Stage, tools: PostfixTools) -> list[tuple[str, str, Result]]:
    """postmap every staged indexed table, ``postmap -q`` every regexp/pcre/cidr one."""
    out = []
    for f in stage.plan.files:
        if f.after is None or f.map_type is None:
            continue
        staged = stage.staged(f.path)
        if f.map_type in INDEX_SUFFIX:
            out.append(
                ("postmap", f"{f.map_type}:{f.path}", tools.postmap(stage.dir, f.map_type, staged))
            )
        elif f.map_type in PROBED_TYPES:
            out.append(
                ("postmap -q", f"{f.map_type}:{f.path}", tools.probe(stage.dir, f.map_type, staged))
            )
    return out


def _master_checks(
    stage: Stage, tools: PostfixTools
) -> tuple[Result | None, list[tuple[str, str, Result]]]:
    """When the plan changes master.cf: (``postconf -P`` on the staged copy if Postfix cannot
    parse it, else None; ``postmap -q`` of each map the changed ``-o`` options newly name)."""
    if not any(f.role == "master.cf" for f in stage.plan.files):
        return None, []
    staged = tools.overrides(stage.dir)
    if not staged.ok:
        return staged, []
    live = mastercheck.overrides(tools.overrides(stage.live))
    new = mastercheck.overrides(staged)
    # Compared as the live file will read; probed in the staged copy (new tables are there).
    changed = mastercheck.changed({k: stage.unstage(v) for k, v in new.items()}, live)
    probes = []
    # The plan's own tables are checked by _table_checks already; maps the live value named
    # already are not this change's doing (like postconf warnings, only new ones count).
    planned = {str(stage.staged(f.path)) for f in stage.plan.files if f.map_type}
    had = set(mastercheck.map_refs({k: live[k] for k in changed if k in live}))
    for ref in mastercheck.map_refs({k: new[k] for k in changed}):
        map_type, _, path = ref.partition(":")
        if path in planned or stage.unstage(ref) in had:
            continue
        probes.append(
            ("postmap -q", stage.unstage(ref), tools.probe(stage.dir, map_type, Path(path)))
        )
    return None, probes


def validate(
    stage: Stage, tools: PostfixTools, gate: Gate | None, progress: Callable[[str, str, str], None]
) -> str:
    """Raise StepFailed naming the first thing that fails; return Postfix's output.

    ``postfix check`` is the slow one (a shell script, ~0.3 s): the postconf and postmap
    runs go alongside it, and the results are judged in a fixed order afterwards.
    A master.cf Postfix cannot parse is judged first: ``postfix check`` only says "cannot
    execute postconf" about it.
    """
    log: list[str] = []
    progress("check", "start", f"postfix check on a staged copy of {stage.live}")
    with ThreadPoolExecutor(max_workers=4) as pool:
        check = pool.submit(tools.check, stage.dir)
        staged_warnings = pool.submit(tools.warnings, stage.dir)
        live_warnings = pool.submit(tools.warnings, stage.live)
        master = pool.submit(_master_checks, stage, tools)
        tables = _table_checks(stage, tools)
        res = check.result()
        new_w, old_w = staged_warnings.result(), live_warnings.result()
        unparsable, master_probes = master.result()

    if unparsable is not None:
        out = stage.unstage(unparsable.output)
        progress("check", "failed", out)
        raise StepFailed(
            "check",
            f"Postfix cannot parse the new {stage.live / 'master.cf'} "
            f"(postconf -P exit {unparsable.returncode})",
            out,
        )
    tables += master_probes
    out = stage.unstage(res.output)
    if not res.ok:
        progress("check", "failed", out)
        raise StepFailed("check", f"postfix check failed (exit {res.returncode})", out)
    progress("check", "ok", out)
    log.append(out)

    for what, table, res in tables:
        progress("postmap", "start", f"{what} {table}")
        out = stage.unstage("\n".join(warning_lines(res)))
        # postmap -q exits 1 for "not found", which is the expected answer to the probe.
        bad_rc = res.returncode not in ((0, 1) if what == "postmap -q" else (0,))
        if bad_rc or out:
            progress("postmap", "failed", out)
            raise StepFailed("postmap", f"{what} {table} reports errors", out)
        progress("postmap", "ok", table)
        log.append(out)

    progress("safety check", "start", "pfwizard's analyser")
    findings = run_gate(gate, stage)
    danger = [f for f in findings if f.severity is Severity.DANGER]
    if danger:
        text = "\n".join(stage.unstage(str(f)) for f in danger)
        codes = sorted({f.code for f in danger if f.acceptable})
        if codes:
            text += "\nIf you mean it, accept it by name: " + " ".join(
                f"--accept-risk {c}" for c in codes
            )
        progress("safety check", "failed", text)
        raise StepFailed("safety check", f"blocked by {len(danger)} danger finding(s)", text)
    progress(
        "safety check",
        "ok",
        f"{len(findings)} finding(s), none dangerous" if gate else "no analyser available",
    )

    progress("postconf", "start", "postconf warnings")
    new = {stage.unstage(w) for w in warning_lines(new_w)}
    added = sorted(new - set(warning_lines(old_w)))
    if added:
        text = "\n".join(added)
        progress("postconf", "failed", text)
        raise StepFailed("postconf", "postconf warns about the new configuration", text)
    progress("postconf", "ok", "no new warnings")
    return "\n".join(x for x in log if x)
