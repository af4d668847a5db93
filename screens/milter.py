"""Milter stage: ``smtpd_milters``/``non_smtpd_milters`` as lists, each milter's socket up or
down, ``milter_default_action`` (with its risk) and ``milter_protocol``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from pfwizard.chain import Item
from pfwizard.milters import milter_states
from pfwizard.screens.chain_stage import ChainStageScreen
from pfwizard.session import STAGE_PARAMS
from pfwizard.tui.theme import SEVERITY_STYLE
from pfwizard.tui.widgets.chain_list import ChainList
from pfwizard.tui.widgets.risk_panel import RiskPanel, findings_text
from pfwizard.wizard.restrictions import parameter_risk

ACTIONS = ("accept", "reject", "tempfail", "quarantine")
PROTOCOLS = ("6", "5", "4", "3", "2")


class MilterScreen(ChainStageScreen):
    STEP_ID = "milter"
    LISTS = ("smtpd_milters", "non_smtpd_milters")
    MILTERS = True
    INTRO = "Mail filters (OpenDKIM 8891, OpenDMARC 8893 on MiaB). d: default action, p: protocol."
    HELP = (
        "Milter stage: a = add a milter address (inet:127.0.0.1:PORT or unix:/path), "
        "e = change it, x = remove, K/J = reorder. d cycles milter_default_action "
        "(what happens to mail when a milter is down), p cycles milter_protocol."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "cycle_action", "Default", show=False, id="milter.action"),
        Binding("p", "cycle_protocol", "Proto", show=False, id="milter.protocol"),
    ]

    def param_line(self) -> str:
        act = self.session.value("milter_default_action") or "tempfail (default)"
        proto = self.session.value("milter_protocol") or "6 (default)"
        return f"default action: {act}   protocol: {proto}   " + super().param_line()

    def refresh_panel(self) -> None:
        s = self.session
        text = Text()
        param = self.chain_list.param
        value = s.value(param) or ""
        if value.startswith("$"):
            text.append(f"{param} = {value}\n(the same milters)\n\n")
        else:
            text.append("Milter sockets\n", style="bold underline")
            for m in milter_states(s, param):
                style = {"up": "green", "down": "red"}.get(m.state, "")
                text.append(f"{m.state.upper():>4}", style=style)
                text.append(f" {m.address}\n  {m.detail}\n")
        act = s.value("milter_default_action") or "tempfail"
        risk = parameter_risk("milter_default_action", act)
        text.append(f"\nmilter_default_action = {act}\n", style="bold")
        if risk:
            level, why = risk
            text.append(
                f"{level.symbol} {level.value.upper()}: ", style=SEVERITY_STYLE[level.value]
            )
            text.append(f"{why}\n")
        findings = s.findings_for(STAGE_PARAMS[self.STEP_ID])
        text.append("\n")
        text.append_text(
            findings_text(
                [f for f in findings if f.parameter is not None],
                empty="No findings on the milter settings.",
            )
        )
        panel = self.query_one(RiskPanel)
        panel.show("", [], set())
        panel.query_one("#findings").update(text)  # type: ignore[attr-defined]

    def _cycle(self, param: str, values: tuple[str, ...], default: str) -> None:
        now = (self.session.value(param) or default).strip()
        nxt = values[(values.index(now) + 1) % len(values)] if now in values else values[0]
        self.session.set_value(param, nxt)
        self.refresh_view()
        # A one-key change must say what it changed (the parameter line is easy to miss).
        self.notify(f"{param} is now {nxt} (was {now}; z undoes it)", timeout=5)

    def action_cycle_action(self) -> None:
        self._cycle("milter_default_action", ACTIONS, "tempfail")

    def action_cycle_protocol(self) -> None:
        self._cycle("milter_protocol", PROTOCOLS, "6")

    def _add(self, lst: ChainList, index: int) -> None:
        self._ask_address(lst, index, "", insert=True)

    def _edit(self, lst: ChainList, index: int) -> None:
        self._ask_address(lst, index, lst.items()[index].name, insert=False)

    def _ask_address(self, lst: ChainList, index: int, value: str, insert: bool) -> None:
        from pfwizard.screens.milter_address import MilterAddressScreen

        def done(address: str | None) -> None:
            if not address:
                return
            if insert:
                at = self.session.insert(lst.param, index, Item(address))
            else:
                self.session.replace(lst.param, index, Item(address))
                at = index
            lst.reload(at)
            lst.post_message(ChainList.Changed(lst))

        self.app.push_screen(MilterAddressScreen(value), done)
