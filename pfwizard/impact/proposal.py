"""The proposed configuration: a profile (the format ``apply`` takes) planned by the engine
exactly as ``apply`` would plan it, but only ever written into the replay's staged copy."""

from __future__ import annotations

from pathlib import Path

from pfwizard.engine import ChangeSet, Engine, Plan, TableChange
from pfwizard.intent import IntentFile, Policy
from pfwizard.intent.context import read_master
from pfwizard.intent.profile import plan_profile
from pfwizard.maincf import MainCf


class Undecided(Exception):
    """The profile conflicts with this box's MiaB values: ``--on-conflict`` must decide."""


def plan_change(
    config_dir: Path, state_dir: Path, profile_path: str | Path, policy: Policy | None = None
) -> Plan:
    profile = IntentFile.load(str(profile_path)).model
    cf = MainCf.read(Path(config_dir) / "main.cf")
    master = read_master(Path(config_dir))
    state = IntentFile.for_state_dir(str(state_dir))
    plan = plan_profile(cf, state, profile, policy, master)
    if plan.conflicts and policy is None:
        raise Undecided(
            f"{len(plan.conflicts)} conflict(s) between the profile and this "
            "box's values need a decision (--on-conflict, as for apply)"
        )
    tables = [TableChange(Path(t.path), t.content, t.map_type) for t in plan.table_changes()]
    # gate None, reload False: planning only reads; nothing is validated or written here.
    engine = Engine(Path(config_dir), Path(state_dir), reload=False, gate=None)
    return engine.plan(
        ChangeSet(
            f"impact preview of {Path(profile_path).name}",
            plan.params(),
            tables,
            master_params=plan.master_params(),
        )
    )
