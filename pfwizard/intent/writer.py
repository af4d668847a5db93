"""The one door restore and apply-profile go through to change files: the safe apply engine.

A thin adapter over ``pfwizard.engine`` (diff, lock, backup, check, reload, rollback). Until
the engine is installed, a minimal stand-in writes atomically and reloads, without journal or
rollback; it says so in its result so nobody mistakes it for the real thing.
"""

from __future__ import annotations

import difflib
import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pfwizard import postfix
from pfwizard.intent.model import TableIntent
from pfwizard.maincf import MainCf


@dataclass
class Outcome:
    ok: bool
    error: str | None = None
    refused: bool = False
    entry_id: str | None = None
    output: str = ""
    steps: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    diff: str
    is_empty: bool
    plan: Any


def _engine_module() -> Any | None:
    try:
        return importlib.import_module("pfwizard.engine")
    except ImportError:
        return None


def _engine_names(mod: Any) -> tuple[Any, Any, Any]:
    """(Engine, ChangeSet, TableChange), from the package or its submodules."""
    def find(name: str, sub: str) -> Any:
        found = getattr(mod, name, None)
        if found is None:
            found = getattr(importlib.import_module(f"pfwizard.engine.{sub}"), name)
        return found

    return find("Engine", "engine"), find("ChangeSet", "changeset"), find("TableChange",
                                                                          "changeset")


class Writer:
    """Plan and apply main.cf parameter edits and table files through the engine."""

    def __init__(self, config_dir: str | Path, state_dir: str | Path, *,
                 reload: bool = True) -> None:
        self.config_dir = Path(config_dir)
        self.state_dir = Path(state_dir)
        self.reload = reload
        self._mod = _engine_module()

    @property
    def uses_engine(self) -> bool:
        return self._mod is not None

    def prepare(self, summary: str, params: dict[str, str | None], tables: list[TableIntent],
                intent: dict[str, Any] | None = None, kind: str = "restore") -> Prepared:
        if self._mod is not None:
            engine_cls, changeset_cls, table_cls = _engine_names(self._mod)
            engine = engine_cls(self.config_dir, self.state_dir, reload=self.reload)
            cs = changeset_cls(summary, params,
                               [table_cls(Path(t.path), t.content, t.map_type) for t in tables],
                               intent)
            if hasattr(cs, "kind"):
                cs.kind = kind
            plan = engine.plan(cs)
            return Prepared(plan.unified_diff(), bool(plan.is_empty), (engine, plan))
        return self._fallback_prepare(params, tables)

    def apply(self, prepared: Prepared,
              progress: Callable[[str], None] | None = None) -> Outcome:
        if prepared.is_empty:
            return Outcome(True)
        if self._mod is not None:
            engine, plan = prepared.plan

            def relay(ev: Any) -> None:
                if progress is not None:
                    progress(f"{ev.step}: {ev.status}" + (f" ({ev.detail})" if ev.detail else ""))

            res = engine.apply(plan, progress=relay)
            return Outcome(bool(res.ok), res.error, bool(getattr(res, "refused", False)),
                           res.entry_id, res.postfix_output,
                           [f"{s.step}: {s.status}" for s in res.steps])
        return self._fallback_apply(prepared)

    # ---- stand-in until the engine lands -------------------------------------------------
    def _fallback_prepare(self, params: dict[str, str | None],
                          tables: list[TableIntent]) -> Prepared:
        files: list[tuple[Path, bytes | None, bytes, str | None]] = []
        for t in tables:
            p = Path(t.path)
            before = p.read_bytes() if p.exists() else None
            files.append((p, before, t.content.encode(), t.map_type))
        main_cf = self.config_dir / "main.cf"
        if params:
            before_cf = main_cf.read_bytes()
            cf = MainCf.parse(before_cf, str(main_cf))
            for name, value in params.items():
                if value is None:
                    cf.remove(name)
                else:
                    cf.set(name, value)
            files.append((main_cf, before_cf, cf.to_bytes(), None))
        diff = "".join(_diff(p, b, a) for p, b, a, _ in files)
        empty = all(b == a for p, b, a, _ in files) and not any(
            t.map_type in ("hash", "btree", "lmdb", "cdb") for t in tables)
        return Prepared(diff, empty, files)

    def _fallback_apply(self, prepared: Prepared) -> Outcome:
        out: list[str] = ["(no apply engine installed: no backup, no rollback)"]
        for path, _before, after, map_type in prepared.plan:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, after)
            if map_type in ("hash", "btree", "lmdb", "cdb"):
                res = postfix.postmap(self.config_dir, f"{map_type}:{path}")
                if not res.ok:
                    return Outcome(False, f"postmap {path} failed: {res.output}", output=res.output)
        if self.reload:
            status = postfix.postfix(self.config_dir, "status")
            if status.ok:
                res = postfix.postfix(self.config_dir, "reload")
                out.append(res.output)
                if not res.ok:
                    return Outcome(False, "postfix reload failed", output=res.output)
        return Outcome(True, output="\n".join(out))


def _diff(path: Path, before: bytes | None, after: bytes) -> str:
    a = [] if before is None else before.decode(errors="replace").splitlines(keepends=True)
    b = after.decode(errors="replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"a{path}", f"b{path}"))


def _atomic_write(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
