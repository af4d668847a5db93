"""Recipes from the field (the seeds): pick one, fill its inputs, see each placement's risk;
the recipe's proposal then pre-fills the session's lists and tables and goes through Review
and Apply like any change (the sample addresses feed the live probe after Apply).

Every Postfix fact is ``pfwizard.recipes``; this module only says which inputs each recipe
takes and hands them over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, OptionList, Static, TextArea

from pfwizard import allowlist, recipes
from pfwizard.errors import PfwizardError, ValueRefused
from pfwizard.explain.recent import FixStart
from pfwizard.maincf import MainCf
from pfwizard.recipes import Proposal
from pfwizard.recipes.model import master_lines
from pfwizard.session import Session
from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.widgets.cursor_list import CursorList
from pfwizard.tui.wrap import WrappedStatic
from pfwizard.wizard.answers import Answer, apply_op
from pfwizard.wizard.state import ProbeSample

# The Cisco ESA DMARC reporters the forum thread named, and the narrow pattern the
# learned allowlist makes of them: anchored at both ends, no /i flag (in a Postfix regexp
# table /i turns case-insensitivity OFF), so the table check finds nothing to fear in it.
CISCO_SENDERS = (
    "MAILER-DAEMON@esa4.commscope.iphmx.com",
    "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com",
    "MAILER-DAEMON@esa.hc3512-62.iphmx.com",
)
CISCO_SENDER = CISCO_SENDERS[0]
CISCO_ALLOWLIST = (
    "# Cisco Secure Email Threat Defense: DMARC reporters whose domain has no DNS\n"
    f"/{allowlist.propose_pattern(CISCO_SENDERS)}/ PERMIT\n"
)


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    area: bool = False
    default: Callable[[Session], str] = lambda s: ""
    placeholder: str = ""


def _postmaster(s: Session) -> str:
    return f"postmaster@{s.cf.get('mydomain') or s.cf.get('myhostname') or 'localhost'}"


def _box_domains(s: Session) -> str:
    try:
        return " ".join(recipes.box_domains(s.config_dir))
    except Exception:  # a box we cannot read: the admin types the domains
        return ""


def _box_mailboxes(s: Session) -> str:
    """Every address Postfix's mailbox and alias maps know (MiaB: users, aliases and the
    automatic aliases such as administrator@ the box's hostname), one a line."""
    try:
        return "\n".join(recipes.box_mailboxes(s.config_dir))
    except (PfwizardError, OSError):  # a box we cannot read: the admin types them
        return ""


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


def _flag(text: str) -> bool:
    return text.strip().lower() in ("y", "yes", "true", "1", "on")


PROBE = (
    Field("sender", "Probe sender", default=lambda s: ""),
    Field("rcpt", "Probe to", default=_postmaster),
)


@dataclass(frozen=True)
class Recipe:
    id: str
    fields: tuple[Field, ...]
    build: Callable[[MainCf, Session, dict[str, str], str | None], Proposal]
    """(config, session, inputs, placement or None for the recipe's default) -> Proposal."""


def _allowlist(cf: MainCf, s: Session, v: dict[str, str], p: str | None) -> Proposal:
    return recipes.allowlist_unresolved_senders(
        cf, s.config_dir, v["table"], placement=p or "before-unknown"
    )


def _own_domains(cf: MainCf, s: Session, v: dict[str, str], p: str | None) -> Proposal:
    return recipes.reject_own_domain_senders(
        cf, s.config_dir, _words(v["domains"]) or None, placement=p or "recipient"
    )


def _helo(cf: MainCf, s: Session, v: dict[str, str], p: str | None) -> Proposal:
    return recipes.helo_dnsbl(
        cf,
        reject_unknown_helo=_flag(v["unknown"]),
        dnsbls=tuple(_words(v["dnsbls"])),
        rhsbls=tuple(_words(v["rhsbls"])),
    )


def _opendmarc(cf: MainCf, s: Session, v: dict[str, str], p: str | None) -> Proposal:
    return recipes.opendmarc(cf, v["socket"], default_action=p or "accept")


def _forged(cf: MainCf, s: Session, v: dict[str, str], p: str | None) -> Proposal:
    return recipes.forged_local_senders(
        cf, s.config_dir, _words(v["addresses"]), hook=p or "main-cf"
    )


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "allowlist-unresolved-senders",
        (
            Field(
                "table", "Allowlist (regexp table)", area=True, default=lambda s: CISCO_ALLOWLIST
            ),
            Field("sender", "Probe sender", default=lambda s: CISCO_SENDER),
            PROBE[1],
        ),
        _allowlist,
    ),
    Recipe(
        "reject-own-domain-senders",
        (
            Field(
                "domains",
                "Your domains",
                default=_box_domains,
                placeholder="read from virtual_mailbox_domains",
            ),
            *PROBE,
        ),
        _own_domains,
    ),
    Recipe(
        "helo-dnsbl",
        (
            Field("unknown", "reject_unknown_helo_hostname (yes/no)", default=lambda s: "no"),
            Field("dnsbls", "DNS blocklists", default=lambda s: "zen.spamhaus.org"),
            Field("rhsbls", "Domain blocklists", default=lambda s: "dbl.spamhaus.org"),
            *PROBE,
        ),
        _helo,
    ),
    Recipe(
        "opendmarc",
        (Field("socket", "OpenDMARC socket", default=lambda s: "inet:127.0.0.1:8893"),),
        _opendmarc,
    ),
    Recipe(
        "forged-local-senders",
        (
            Field(
                "addresses",
                "Real mailboxes and aliases (one per line)",
                area=True,
                default=_box_mailboxes,
                placeholder="user@example.com",
            ),
        ),
        _forged,
    ),
)


def recipe(recipe_id: str) -> Recipe:
    return next(r for r in RECIPES if r.id == recipe_id)


class RecipesScreen(WizardScreen):
    """Pick a recipe; Enter opens its form; the form's proposal goes to Review."""

    STEP_ID = "recipes"
    RESULTS = frozenset({Action.NEXT, Action.BACK})
    HELP = (
        "Recipes: five fixes real Mail-in-a-Box admins made by hand, each as a guided "
        "change. Pick one with the arrows and Enter; fill its inputs; F4 cycles where it "
        "goes (each placement's risk is shown); F2 puts it into the wizard's lists and "
        "tables and opens Review. Nothing is written before Apply."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2,ctrl+s", "use", "Use", key_display="F2", id="save"),
        Binding("f4", "cycle_placement", "Placement", id="recipes.placement"),
        Binding("escape", "back", "Back", id="cancel"),
    ]
    DEFAULT_CSS = """
    RecipesScreen #recipe-list { height: auto; max-height: 7; border: $frame $secondary; }
    RecipesScreen .field { height: auto; }
    RecipesScreen .field Label { width: 16; }
    RecipesScreen .field Input { border: none; height: 1; width: 1fr; padding: 0; }
    RecipesScreen .field TextArea { height: 6; width: 1fr; }
    RecipesScreen #recipe-form { height: auto; max-height: 9; display: none; }
    RecipesScreen #recipe-preview { height: 1fr; border: $frame $secondary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.current: Recipe | None = None
        self.fields: dict[str, Input | TextArea] = {}
        self.defaults: dict[str, str] = {}
        """What the form opened with (escape asks only when the admin typed something)."""
        self.placement: str | None = None
        self.proposal: Proposal | None = None
        self.error = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield CursorList(
            *(f"{i}. {recipes.RECIPES[r.id]}" for i, r in enumerate(RECIPES, 1)), id="recipe-list"
        )
        yield VerticalScroll(id="recipe-form")
        with VerticalScroll(id="recipe-preview"):
            # Continuation rows indented under their line (placements, risks, changes).
            yield WrappedStatic(id="recipe-text", bare=2)
        yield from self.compose_footer()

    learned = ""
    """How the inputs were learned from the mail log (a recipe opened from the Welcome)."""

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.query_one("#recipe-text", Static).update(
            "Pick a recipe (arrows, Enter). Nothing has been written yet."
        )
        super().on_mount()
        start, self.wizard.recipe_start = self.wizard.recipe_start, None
        if start is not None and start.recipe is not None:
            self.call_later(self.open_learned, start)

    async def open_learned(self, start: FixStart) -> None:
        """Open the recipe a reject on the Welcome asked for, its inputs learned from the log
        (what the admin sees first is the placement and its risk, as for any recipe)."""
        assert start.recipe is not None
        await self.open(start.recipe)
        learned = {"table": start.table, "sender": start.sender, "rcpt": " ".join(start.recipients)}
        for field_id, value in learned.items():
            if value and field_id in self.fields:
                self.set_input(field_id, value)
        # What the log gave is not the admin's typing: Esc closes without asking.
        self.defaults = self.inputs()
        self.learned = (
            f"Filled in from the mail log: {start.said}."
            if start.said
            else "Filled in from the mail log."
        )
        self.rebuild()

    # ---- choosing and filling ----------------------------------------------------------
    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        await self.open(RECIPES[event.option_index].id)

    async def open(self, recipe_id: str) -> None:
        """Show ``recipe_id``'s inputs (defaults read from the box) and its proposal."""
        self.current, self.placement = recipe(recipe_id), None
        # The list gives its rows to the form; Esc brings it back.
        self.query_one(OptionList).display = False
        form = self.query_one("#recipe-form", VerticalScroll)
        form.display = True
        await form.remove_children()
        self.fields, self.defaults = {}, {}
        rows = []
        for f in self.current.fields:
            value = f.default(self.session)
            self.defaults[f.id] = value
            widget: Any = (
                TextArea(value, id=f"field-{f.id}", soft_wrap=False)
                if f.area
                else Input(value, placeholder=f.placeholder, id=f"field-{f.id}")
            )
            self.fields[f.id] = widget
            rows.append(Horizontal(Label(f.label), widget, classes="field"))
        await form.mount_all(rows)
        rows[0].children[1].focus()
        self.rebuild()

    def inputs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        assert self.current is not None
        for f in self.current.fields:
            w = self.fields[f.id]
            out[f.id] = w.text if isinstance(w, TextArea) else w.value
        return out

    def set_input(self, field_id: str, value: str) -> None:
        w = self.fields[field_id]
        if isinstance(w, TextArea):
            w.text = value
        else:
            w.value = value
        self.rebuild()

    def rebuild(self) -> None:
        self.proposal, self.error = None, ""
        if self.current is None:
            return
        try:
            self.proposal = self.current.build(
                self.session.cf, self.session, self.inputs(), self.placement
            )
        except (recipes.RecipeRefused, ValueError, OSError, PfwizardError) as exc:
            self.error = str(exc)
        self.query_one("#recipe-text", Static).update(self.preview())

    def preview(self) -> Text:
        """The placement choice and its risk first (the decision), then what changes."""
        text = Text()
        if self.learned:
            text.append(f"{self.learned}\n", style="italic")
        if self.error:
            text.append(f"! Cannot propose this: {self.error}\n", style="bold yellow")
            return text
        prop = self.proposal
        assert prop is not None
        text.append(f"{prop.title}: {prop.summary}\n", style="bold")
        if prop.placements:
            text.append(
                "Where" + (" (F4: next)" if len(prop.placements) > 1 else "") + ":\n",
                style="underline",
            )
        for p in prop.placements:
            chosen = p.key == prop.placement
            text.append(
                f"{'*' if chosen else ' '} placement {p.key}: {p.label}\n",
                style="bold" if chosen else "",
            )
            text.append(f"    risk ({p.severity.value}): {p.risk}\n")
        text.append("Changes (F2: use them, then Review):\n", style="underline")
        for name, value in prop.params.items():
            text.append(f"  {name} = {value}\n" if value is not None else f"  remove {name}\n")
        for t in prop.tables:
            text.append(f"  table {t.map_type}:{t.path}\n")
        for line in master_lines(prop.master_params):
            text.append(f"  {line}\n")
        for n in prop.notes:
            text.append(f"  note: {n}\n")
        return text

    def on_input_changed(self) -> None:
        self.rebuild()

    def on_text_area_changed(self) -> None:
        self.rebuild()

    def answer(self, answer: Answer) -> None:
        # Opening a recipe mounts its form (async): the answer goes in after that.
        self.call_after_refresh(self._answer, answer)

    async def _answer(self, answer: Answer) -> None:
        """``recipe`` (its id), ``inputs`` (field id -> text), ``placement``; then ops and
        the action (``use``: into the wizard's lists and tables, then Review)."""
        f = dict(answer.fields)
        unknown = set(f) - {"recipe", "inputs", "placement"}
        if unknown:
            raise ValueRefused(
                f"the Recipes screen takes no {', '.join(sorted(unknown))} in an answers file"
            )
        if "recipe" in f:
            ids = [r.id for r in RECIPES]
            if f["recipe"] not in ids:
                raise ValueRefused(f"no recipe {f['recipe']!r} (there are {', '.join(ids)})")
            await self.open(str(f["recipe"]))
        inputs = f.get("inputs") or {}
        if inputs and self.current is None:
            raise ValueRefused("recipe inputs without a recipe")
        for key, value in dict(inputs).items():
            if key not in self.fields:
                raise ValueRefused(
                    f"recipe {self.current.id if self.current else ''} has no input {key!r}"
                )
            self.set_input(str(key), str(value))
        if "placement" in f:
            self.placement = str(f["placement"])
            self.rebuild()
        for op in answer.ops:
            apply_op(self.session, op)
        self.answer_action(answer.action)

    def action_cycle_placement(self) -> None:
        if self.proposal is None or len(self.proposal.placements) < 2:
            return
        keys = [p.key for p in self.proposal.placements]
        at = keys.index(self.proposal.placement) if self.proposal.placement in keys else -1
        self.placement = keys[(at + 1) % len(keys)]
        self.rebuild()

    def action_use(self) -> None:
        if self.proposal is None:
            self.notify(
                f"Nothing to use: {self.error or 'pick a recipe first'}", severity="warning"
            )
            return
        try:
            self.session.prefill(self.proposal)
        except PfwizardError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        values = self.inputs()
        if values.get("sender") and _words(values.get("rcpt", "")):
            self.state.probe_sample = ProbeSample(
                values["sender"].strip(), tuple(_words(values["rcpt"]))
            )
        self.finish(Action.NEXT)

    def action_back(self) -> None:
        if self.current is not None and self.inputs() != self.defaults:
            from pfwizard.screens.confirm import ConfirmScreen

            def done(yes: bool | None) -> None:
                if yes:
                    self.defaults = self.inputs()
                    self.action_back()

            self.app.push_screen(
                ConfirmScreen(
                    "Discard what you typed in this recipe? Nothing of it is kept.",
                    yes="discard",
                    no="keep editing",
                ),
                done,
            )
            return
        if self.current is not None:
            self.current, self.proposal, self.learned = None, None, ""
            self.fields = {}
            form = self.query_one("#recipe-form", VerticalScroll)
            form.remove_children()
            form.display = False
            self.query_one("#recipe-text", Static).update("Pick a recipe (arrows, Enter).")
            self.query_one(OptionList).display = True
            self.query_one(OptionList).focus()
            return
        self.finish(Action.BACK)
