"""Everything a restore needs, read once: for ``status``, ``restore`` and the wizard's restore
screen (which shows ``plan`` side by side and calls ``run`` with its own confirm and progress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pfwizard import miab
from pfwizard.findings import Finding, Severity
from pfwizard.intent.adopt import Adoption, adopted_note, find_adoptions
from pfwizard.intent.adopt_master import ServiceAdoption, find_service_adoptions
from pfwizard.intent.rebase import Policy, RestorePlan, build_plan
from pfwizard.intent.record import record_service_option
from pfwizard.intent.store import IntentFile
from pfwizard.kept_lines import KeptLines
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf, split_key

if TYPE_CHECKING:
    # The engine loads only when a restore is carried out (``run``): `pfwizard status`
    # reads the same context and must not pay for it.
    from pfwizard.engine.engine import StepEvent
    from pfwizard.engine.validate import Gate
    from pfwizard.intent.execute import Request

Adoptable = Adoption | ServiceAdoption
"""A hand-made setting MiaB's setup commented out: in main.cf (a chain) or master.cf (an
``-o`` option of a service)."""


@dataclass
class RestoreContext:
    """What status and restore read: the files, the recorded intent and the plan."""

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
    accepted: frozenset[str] = frozenset()
    """Codes of danger findings the admin accepted in the wizard (``--accept-risk`` there)."""

    def run(
        self,
        *,
        reload: bool = True,
        dry_run: bool = False,
        confirm: Callable[[str], bool] | None = None,
        say: Callable[[str], None] = print,
        accept_risk: frozenset[str] = frozenset(),
        gate: Gate | None = None,
        check: bool = True,
        output: Callable[[str], None] | None = None,
        steps: Callable[[StepEvent], None] | None = None,
    ) -> int:
        """Carry out the plan through the engine; returns pfwizard's exit code.
        ``accept_risk``: finding codes the admin accepted by name (``--accept-risk``).
        ``check``: a dry run runs the real run's checks on a staged copy (False: plan only).
        ``output``: where Postfix's own output goes (None: ``say``); ``steps``: where the
        engine's steps go as events (None: said as lines)."""
        from pfwizard.intent.execute import Request, execute
        from pfwizard.intent.writer import Writer

        req = Request(
            f"restore customisations (MiaB {self.release or 'release unknown'})",
            kind="restore",
            release=self.release,
            dry_run=dry_run,
            confirm=confirm,
            kept_lines=self.kept_lines(),
            check=check,
            output=output,
            steps=steps,
        )
        self.request = req
        writer = Writer(
            self.config_dir,
            self.state_dir,
            reload=reload,
            accept_risk=accept_risk | self.accepted,
            gate=gate,
        )
        code = execute(self.plan, self.store, writer, req, say)
        self.entry_id = req.entry_id
        self.error = req.error
        return code

    def danger(self) -> list[Finding]:
        """The danger findings on the configuration as this restore leaves it: what the
        engine's safety check will refuse, asked before anything is written (the wizard
        shows them and asks, as its Review does). One accepted before for the same entry
        (remembered by the engine) is not asked again."""
        # Loaded here: `pfwizard status` reads this context and must not pay for the engine.
        from pfwizard.analyser import analyse_params
        from pfwizard.engine import risks

        params = self.cf.parameters()
        for name, value in self.plan.params().items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        master = MasterCf.parse(self.master.to_bytes(), self.master.path)
        for key, option in self.plan.master_params().items():
            service, type_, name = split_key(key)
            if option is None:
                master.remove_option(service, type_, name)
            else:
                master.set_option(service, type_, name, option)
        tables = {t.path: t.content for t in self.plan.table_changes()}
        found = analyse_params(
            params, self.config_dir, master.to_bytes().decode("utf-8", errors="replace"), tables
        )
        before = risks.load(self.state_dir)
        # A table this restore writes (or whose lost index it rebuilds) is not "missing":
        # it will be there once the restore is in (the wizard's Review judges it the same).
        return [
            f
            for f in found
            if f.severity is Severity.DANGER
            and not (f.acceptable and (f.code, f.entry) in before)
            and not (
                "table" in f.code and any(p in f.message or p in (f.entry or "") for p in tables)
            )
        ]

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
            "chains": {
                c.parameter: {
                    "states": [s.value for s in c.states()],
                    "current": c.current.render(),
                    "restored": c.result.render(),
                    "glued_lines": [n for g in c.glued for n in g.glued_lines],
                }
                for c in p.chains
            },
            "parameters": {
                x.intent.name: {"in_sync": x.in_sync, "current": x.current, "yours": x.intent.value}
                for x in p.parameters
            },
            "tables": {t.intent.path: t.problem for t in p.tables},
            "services": {
                **{
                    c.parameter: {
                        "states": [s.value for s in c.states()],
                        "current": c.value(c.current),
                        "restored": c.value(c.result),
                    }
                    for c in p.master_chains
                },
                **{
                    x.intent.name: {
                        "in_sync": x.in_sync,
                        "current": x.current,
                        "yours": x.intent.value,
                    }
                    for x in p.master_options
                },
            },
            "conflicts": [
                {"kind": c.kind.value, "parameter": c.parameter, "message": c.message}
                for c in p.conflicts
            ],
            "adoptable": [a.describe() for a in self.adoptable],
            "notes": p.notes,
        }


def open_restore(
    config_dir: str | Path,
    state_dir: str | Path,
    *,
    policy: Policy | None = None,
    adopt: bool = False,
    miab_dir: str | Path | None = None,
) -> RestoreContext:
    """Read main.cf and customizations.yaml (errors name file and line) and plan the rebase."""
    cdir, sdir = Path(config_dir), Path(state_dir)
    cf = MainCf.read(cdir / "main.cf")
    master = read_master(cdir)
    store = IntentFile.for_state_dir(sdir)
    found: list[Adoptable] = [
        *find_adoptions(cf, set(store.model.chains)),
        *find_service_adoptions(master, set(store.model.services)),
    ]
    adopted: list[Adoptable] = []
    if adopt:
        for adoption in found:
            if isinstance(adoption, Adoption):
                store.set_chain(adoption.intent)
            else:
                record_service_option(
                    store, adoption.key, adoption.miab_value, adoption.value, why=adoption.why
                )
        adopted, found = found, []
    plan = build_plan(cf, store.model, policy, master=master)
    return RestoreContext(
        cdir, sdir, cf, master, store, plan, miab.installed_release(miab_dir), adopted, found
    )


def read_master(config_dir: str | Path) -> MasterCf:
    """master.cf of ``config_dir`` (errors name file and line); none at all reads as empty
    (every recorded service option is then reported gone, never silently ignored)."""
    return MasterCf.of_config_dir(config_dir)
