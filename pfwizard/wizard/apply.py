"""Apply, then record: the wizard's change and its customizations.yaml in one engine
transaction, beside the restore's (``RestoreContext.run``), both reported as an ``Outcome``.

The screens only show the lines these functions say; every decision about what is written,
recorded and reported is made here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pfwizard import exitcodes
from pfwizard.wizard.state import Outcome

if TYPE_CHECKING:
    from pfwizard.engine import Plan
    from pfwizard.engine.engine import StepEvent
    from pfwizard.intent.context import RestoreContext
    from pfwizard.session import Session
    from pfwizard.wizard.state import WizardEngine

Say = Callable[[str], None]


def plan_change(session: Session, engine: WizardEngine) -> Plan:
    """The plan Review shows and Apply writes: the change and customizations.yaml, one
    transaction (IntentError, naming file and line, if customizations.yaml is broken:
    nothing is planned)."""
    from pfwizard.wizard.record import intent_store

    cs = session.changeset()
    cs.record = intent_store(session).record()
    plan = engine.plan(cs)
    if all(f.role == "intent" for f in plan.files if f.changes) and not any(
        f.changes for f in plan.indexes
    ):
        plan.files = []  # no change to Postfix's files: nothing to apply, nor to record
    return plan


def apply_change(
    engine: WizardEngine,
    plan: Plan,
    *,
    confirm_within: int | None = None,
    progress: Callable[[Any], None] | None = None,
    say: Say = print,
) -> Outcome:
    """Write ``plan`` through the engine (backup, write, check, reload; any failure puts the
    old files back). customizations.yaml is one of the plan's files: written in the same
    transaction, so either the change and its record are both in force or neither is."""
    try:
        outcome = Outcome.of(engine.apply(plan, progress=progress, confirm_within=confirm_within))
    except Exception as exc:  # show the engine's own words; the engine restored the files
        outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}", exit_code=exitcodes.FAILED)
    recorded = [f.path for f in plan.files if f.role == "intent"]
    if outcome.ok and recorded:
        say(f"customisations recorded in {recorded[0]} (pfwizard restore uses them)")
    return outcome


def apply_restore(
    ctx: RestoreContext | None,
    *,
    reload: bool,
    say: Say = print,
    progress: Callable[[StepEvent], None] | None = None,
) -> Outcome:
    """Carry out the restore the admin reviewed (``RestoreContext.run``: backup, write,
    check, reload, rollback on failure; then customizations.yaml gets the new base)."""
    if ctx is None:
        return Outcome(False, error="no restore planned", exit_code=exitcodes.ERROR)
    said: list[str] = []

    def keep(line: str) -> None:
        said.append(line)
        say(line)

    postfix_said: list[str] = []
    try:
        # Postfix's output apart from the steps: the screen folds its repeated warnings.
        code = ctx.run(reload=reload, say=keep, output=postfix_said.append, steps=progress)
    except Exception as exc:  # the engine put the files back; show its words
        code = exitcodes.FAILED
        keep(f"{type(exc).__name__}: {exc}")
    ok = code in (exitcodes.OK, exitcodes.CHANGED)
    return Outcome(
        ok,
        ctx.entry_id,
        "" if ok else said[-1] if said else "",
        refused=code == exitcodes.REFUSED,
        exit_code=code,
        postfix_output="\n".join(postfix_said),
    )
