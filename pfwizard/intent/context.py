"""Everything a restore needs, read once: for ``status``, ``restore`` and the wizard's restore
screen (which shows ``plan`` side by side and calls ``run`` with its own confirm and progress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pfwizard import miab
from pfwizard.intent.adopt import Adoption, adopted_note, find_adoptions
from pfwizard.intent.adopt_master import ServiceAdoption, find_service_adoptions
from pfwizard.intent.rebase import Policy, RestorePlan, build_plan
from pfwizard.intent.record import record_service_option
from pfwizard.intent.store import IntentFile
from pfwizard.kept_lines import KeptLines
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf

if TYPE_CHECKING:
    # The engine loads only when a restore is carried out (``run``): `pfwizard status`
    # reads the same context and must not pay for it.
    from pfwizard.engine.validate import Gate
    from pfwizard.intent.execute import Request

Adoptable = Adoption | ServiceAdoption
"""A hand-made setting MiaB's setup commented out: in main.cf (a chain) or master.cf (an
``-o`` option of a service)."""


@dataclass
class RestoreContext:
    config_dir: Path
    state_dir: Path
    cf: MainCf
    master: MasterCf
    store: IntentFile
    plan: RestorePlan
    release: str | None
    adopted: list[Adoptable] = field(default_factory=list)
    """Applied to ``store`` (in memory) when opened with ``adopt=True``."""
    adoptable: list[Adoptable] = field(default_factory=list)
    """Hand-made values MiaB commented out that ``adopt=True`` would read back."""
    entry_id: str | None = None
    """After ``run``: the journal entry of the restore it applied (None: nothing applied)."""
    error: str | None = None
    """After ``run``: why nothing was applied (refused or failed), else None."""
    request: Request | None = None
    """After ``run``: what ``execute`` kept (files planned, the engine's outcome)."""

    def run(self, *, reload: bool = True, dry_run: bool = False,
            confirm: Callable[[str], bool] | None = None,
            say: Callable[[str], None] = print,
            accept_risk: frozenset[str] = frozenset(), gate: Gate | None = None) -> int:
        """Carry out the plan through the engine; returns pfwizard's exit code.
        ``accept_risk``: finding codes the admin accepted by name (``--accept-risk``)."""
        from pfwizard.intent.execute import Request, execute
        from pfwizard.intent.writer import Writer

        req = Request(f"restore customisations (MiaB {self.release or 'release unknown'})",
                      kind="restore", release=self.release, dry_run=dry_run, confirm=confirm,
                      kept_lines=self.kept_lines())
        self.request = req
        writer = Writer(self.config_dir, self.state_dir, reload=reload,
                        accept_risk=accept_risk, gate=gate)
        code = execute(self.plan, self.store, writer, req, say)
        self.entry_id = req.entry_id
        self.error = req.error
        return code

    def kept_lines(self) -> list[KeptLines]:
        """The adopted lines, kept in main.cf and master.cf as comments under a note saying
        where the setting lives now (one note per block of lines)."""
        note = adopted_note(self.store.path)
        out: dict[tuple[str, int], KeptLines] = {}
        for a in self.adopted:
            kept = a.kept(note)
            out.setdefault((kept.file, kept.lines[0]), kept)
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        """A summary for monitoring (``status --json``)."""
        p = self.plan
        return {
            "in_sync": p.in_sync and not p.conflicts and not self.adoptable,
            "miab_release": self.release,
            "recorded_release": self.store.model.miab_release,
            "chains": {c.parameter: {"states": [s.value for s in c.states()],
                                     "current": c.current.render(),
                                     "restored": c.result.render(),
                                     "glued_lines": [n for g in c.glued for n in g.glued_lines]}
                       for c in p.chains},
            "parameters": {x.intent.name: {"in_sync": x.in_sync, "current": x.current,
                                           "yours": x.intent.value} for x in p.parameters},
            "tables": {t.intent.path: t.problem for t in p.tables},
            "services": {**{c.parameter: {"states": [s.value for s in c.states()],
                                          "current": c.value(c.current),
                                          "restored": c.value(c.result)}
                            for c in p.master_chains},
                         **{x.intent.name: {"in_sync": x.in_sync, "current": x.current,
                                            "yours": x.intent.value}
                            for x in p.master_options}},
            "conflicts": [{"kind": c.kind.value, "parameter": c.parameter,
                           "message": c.message} for c in p.conflicts],
            "adoptable": [a.describe() for a in self.adoptable],
            "notes": p.notes,
        }


def open_restore(config_dir: str | Path, state_dir: str | Path, *,
                 policy: Policy | None = None, adopt: bool = False,
                 miab_dir: str | Path | None = None) -> RestoreContext:
    """Read main.cf and customizations.yaml (errors name file and line) and plan the rebase."""
    cdir, sdir = Path(config_dir), Path(state_dir)
    cf = MainCf.read(cdir / "main.cf")
    master = read_master(cdir)
    store = IntentFile.for_state_dir(sdir)
    found: list[Adoptable] = [*find_adoptions(cf, set(store.model.chains)),
                              *find_service_adoptions(master, set(store.model.services))]
    adopted: list[Adoptable] = []
    if adopt:
        for adoption in found:
            if isinstance(adoption, Adoption):
                store.set_chain(adoption.intent)
            else:
                record_service_option(store, adoption.key, adoption.miab_value,
                                      adoption.value, why=adoption.why)
        adopted, found = found, []
    plan = build_plan(cf, store.model, policy, master=master)
    return RestoreContext(cdir, sdir, cf, master, store, plan,
                          miab.installed_release(miab_dir), adopted, found)


def read_master(config_dir: str | Path) -> MasterCf:
    """master.cf of ``config_dir`` (errors name file and line); none at all reads as empty
    (every recorded service option is then reported gone, never silently ignored)."""
    return MasterCf.of_config_dir(config_dir)
