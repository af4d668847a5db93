"""What the admin did in the wizard, recorded as intent for customizations.yaml (chains as
operations on MiaB's base), and whether what is recorded is still in force."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from pfwizard.chain import Chain
from pfwizard.session import MILTER_LISTS, list_of_param

if TYPE_CHECKING:
    from pfwizard.intent import IntentFile
    from pfwizard.session import Session


def intent_store(session: Session) -> IntentFile:
    """customizations.yaml with the session's change recorded, in memory: ``plan_change``
    hands it to the engine, which writes it in the same transaction as the change, so
    ``pfwizard restore`` puts the change back after an upgrade and a rollback takes both
    back together."""
    from pfwizard.engine import risks
    from pfwizard.intent import (
        IntentFile,
        record_chain,
        record_parameter,
        record_service_option,
        record_table,
    )

    store = IntentFile.for_state_dir(session.state_dir)
    for param, value in session.edits.items():
        before = session.cf.get(param)
        if param in list_of_param() or param in MILTER_LISTS:
            record_chain(
                store,
                param,
                None if before is None else Chain.parse(before),
                Chain.parse(value or ""),
            )
        else:
            record_parameter(store, param, before, value)
    for t in session.tables.values():
        record_table(store, t.path, t.map_type, t.content)
    for key, value in session.master_edits.items():
        record_service_option(store, key, session.master_before.get(key), value)
    # What the admin accepted in the confirmation goes back unasked after an upgrade.
    with contextlib.suppress(OSError):
        risks.remember(session.state_dir, [(c, e) for c, _p, e in session.accepted if e])
    return store


def record_intent(session: Session) -> Path:
    """Save the intent on its own (tests, and callers without an engine)."""
    return intent_store(session).save()


def restore_status(session: Session) -> tuple[bool, list[str]]:
    """(in sync, what differs) between customizations.yaml and main.cf: after a MiaB
    upgrade this says which customisations are missing (``pfwizard restore``)."""
    from pfwizard.intent import IntentFile, build_plan
    from pfwizard.intent.context import read_master
    from pfwizard.intent.report import describe

    store = IntentFile.for_state_dir(session.state_dir)
    plan = build_plan(session.cf, store.model, master=read_master(session.config_dir))
    if plan.in_sync and not plan.conflicts:
        return True, []
    return False, describe(plan)
