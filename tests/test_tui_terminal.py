"""Terminal reality: ANSI colours only, NO_COLOR/--no-color, plain-key twins, footer fits."""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding

from tests.tui_app import SIZE, make_app

ROOT = Path(__file__).resolve().parent.parent
# A colour written as hex: in a TCSS property value, or anywhere in a Python string.
TCSS_HEX = re.compile(r":[^;{]*#[0-9a-fA-F]{3,8}\b")
PY_HEX = re.compile(r"[\"' ]#[0-9a-fA-F]{6}\b|[\"' ]#[0-9a-fA-F]{3}[\"' ]")


def test_no_hex_colours_anywhere_in_the_ui():
    for f in ROOT.joinpath("assets").glob("*.tcss"):
        assert not TCSS_HEX.search(f.read_text()), f
    for f in [*ROOT.joinpath("tui").rglob("*.py"), *ROOT.joinpath("screens").rglob("*.py")]:
        assert not PY_HEX.search(f.read_text()), f


async def test_ansi_theme_and_no_color(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE):
        assert app.theme == "pfwizard-ansi" and app.current_theme.ansi
        assert not app.no_color
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path / "b", start="sender")
    async with app.run_test(size=SIZE):
        assert app.no_color


async def test_no_color_flag_sets_no_color(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(tmp_path, start="sender", no_color=True)
    monkeypatch.delenv("NO_COLOR", raising=False)  # the flag set it for Textual; undo for others
    assert app.no_color


def _bindings(cls) -> list[Binding]:
    """Bindings pfwizard defines (Textual's own inherited ones are Textual's business)."""
    out = []
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith(("pfwizard.tui.", "pfwizard.screens.")):
            out += [b for b in klass.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
    return out


def test_every_modified_arrow_has_a_plain_twin_and_every_binding_an_id():
    from pfwizard.screens import (
        add_restriction,
        apply,
        chain_stage,
        confirm,
        done,
        edit_argument,
        helo,
        help,
        milter,
        milter_address,
        review,
        rollback,
        table_editor,
        welcome,
    )
    from pfwizard.tui.widgets.chain_list import ChainList

    classes = [
        ChainList,
        add_restriction.AddRestrictionScreen,
        apply.ApplyScreen,
        chain_stage.ChainStageScreen,
        confirm.ConfirmScreen,
        done.DoneScreen,
        edit_argument.EditArgumentScreen,
        help.HelpScreen,
        helo.HeloScreen,
        milter.MilterScreen,
        milter_address.MilterAddressScreen,
        review.ReviewScreen,
        rollback.RollbackScreen,
        table_editor.TableEditorScreen,
        welcome.WelcomeScreen,
    ]
    for cls in classes:
        bindings = _bindings(cls)
        for b in bindings:
            assert b.id and b.description, (cls.__name__, b.key)
        for b in bindings:
            keys = b.key.split(",")
            if any(
                k.startswith(("shift+", "ctrl+"))
                and k.split("+")[1] in ("up", "down", "left", "right")
                for k in keys
            ):
                twins = [
                    o
                    for o in bindings
                    if o.action == b.action
                    and not any(k.startswith(("shift+", "ctrl+")) for k in o.key.split(","))
                ]
                assert twins, f"{cls.__name__}: {b.key} has no plain-key twin"


async def test_footer_fits_80_columns_on_every_chain_stage(tmp_path):
    for step in ("helo", "sender", "recipient", "milter"):
        app = make_app(tmp_path / step, start=step)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            footer_line = app.screen._compositor.render_strips()[-1].text.rstrip()
            assert footer_line.endswith(("Skip", "Skip ")), (step, footer_line)
            assert "Quit" in footer_line and "Help" in footer_line
