"""Customisations as intent (customizations.yaml) and their rebase onto MiaB's values.

Public API:
- ``IntentFile.load(path)`` / ``IntentFile.for_state_dir(dir)``: read and validate
  (``IntentError`` names the line); ``.model`` is a ``Customisations``; ``.save()``.
- ``IntentFile.record()`` -> ``IntentRecord`` for ``ChangeSet.record``: the file as a
  change leaves it, written by the engine in the same transaction (so a rollback takes it
  back with the configuration); ``store.save()`` only for intent-only updates.
- ``record_change(store, maincf_before, params, tables, reasons)``: records a change in
  memory (the wizard's ``Session.plan`` records, then hands ``record()`` to the engine);
  built on ``record_chain``,
  ``record_parameter`` and ``record_table``; ``master_before=``/``master_params=`` record
  master.cf options (``service/type/option``) in the ``services`` section
  (``record_service_option``).
- ``build_plan(maincf, customisations, policy)`` -> ``RestorePlan`` (status and restore).
"""

from pfwizard.intent.model import (
    SCHEMA_VERSION,
    ChainIntent,
    Customisations,
    Operation,
    OpKind,
    ParameterIntent,
    TableIntent,
)
from pfwizard.intent.rebase import ChainPlan, ChainState, Policy, RestorePlan, build_plan
from pfwizard.intent.record import (
    diff_chains,
    record_chain,
    record_change,
    record_parameter,
    record_service_option,
    record_table,
)
from pfwizard.intent.replay import Conflict, ConflictKind, replay
from pfwizard.intent.store import FILENAME, IntentError, IntentFile, default_path, parse_text

__all__ = [
    "FILENAME",
    "SCHEMA_VERSION",
    "ChainIntent",
    "ChainPlan",
    "ChainState",
    "Conflict",
    "ConflictKind",
    "Customisations",
    "IntentError",
    "IntentFile",
    "OpKind",
    "Operation",
    "ParameterIntent",
    "Policy",
    "RestorePlan",
    "TableIntent",
    "build_plan",
    "default_path",
    "diff_chains",
    "parse_text",
    "record_chain",
    "record_change",
    "record_parameter",
    "record_service_option",
    "record_table",
    "replay",
]
