"""What a recipe proposes: parameter edits, tables, a placement choice with its risk.

A recipe never writes anything: it returns a ``Proposal`` whose ``changeset()`` goes through
``pfwizard.engine`` (Review, validate, apply, rollback) like any other change; the wizard
pre-fills its stages from the same proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pfwizard.chain import Chain
from pfwizard.engine import OWN_TABLE_DIR, ChangeSet, TableChange
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf


@dataclass(frozen=True)
class PlacementOption:
    """One place the recipe can put its restriction, and what that costs."""

    key: str
    label: str
    risk: str
    severity: Severity = Severity.CAUTION


@dataclass
class Proposal:
    recipe: str
    """Recipe id, e.g. ``allowlist-unresolved-senders`` (the ids ``explain`` offers)."""
    title: str
    summary: str
    """One line for the journal."""
    params: dict[str, str | None] = field(default_factory=dict)
    tables: list[TableChange] = field(default_factory=list)
    placements: list[PlacementOption] = field(default_factory=list)
    placement: str = ""
    """The key of the placement this proposal was built for."""
    notes: list[str] = field(default_factory=list)
    master_params: dict[str, str | None] = field(default_factory=dict)
    """master.cf ``-o`` edits, keyed ``service/type/option`` as ``postconf -P`` names them
    (``None`` removes the override); applied through the engine with the rest."""

    @property
    def chosen(self) -> PlacementOption | None:
        return next((p for p in self.placements if p.key == self.placement), None)

    def changeset(self) -> ChangeSet:
        return ChangeSet(
            self.summary,
            dict(self.params),
            list(self.tables),
            intent={"recipe": self.recipe, "placement": self.placement},
            master_params=dict(self.master_params),
        )

    def describe(self) -> str:
        out = [f"{self.title}", f"  {self.summary}"]
        for name, value in self.params.items():
            out.append(f"  {name} = {value}" if value is not None else f"  remove {name}")
        for t in self.tables:
            out.append(f"  table {t.map_type}:{t.path}")
        for p in self.placements:
            mark = "*" if p.key == self.placement else " "
            out.append(f" {mark} placement {p.key}: {p.label}")
            out.append(f"      risk ({p.severity.value}): {p.risk}")
        out += [f"  {line}" for line in master_lines(self.master_params)]
        out += [f"  note: {n}" for n in self.notes]
        return "\n".join(out)


def master_lines(master_params: dict[str, str | None]) -> list[str]:
    """Each master.cf edit in words an admin reads in master.cf itself."""
    out = []
    for key, value in master_params.items():
        service, _, option = key.rpartition("/")
        out.append(
            f"master.cf {service}: -o {option}={value}"
            if value is not None
            else f"master.cf {service}: remove -o {option}"
        )
    return out


class RecipeRefused(ValueError):
    """The box's config does not fit the recipe (e.g. the anchor restriction is missing)."""


def chain_of(cf: MainCf, parameter: str) -> Chain:
    return Chain.parse(cf.get(parameter) or "")


def own_table(config_dir: Path | str, name: str) -> Path:
    """Where pfwizard keeps a table it creates: MiaB's setup never rewrites this directory."""
    return Path(config_dir) / OWN_TABLE_DIR / name
