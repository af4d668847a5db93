"""On the Linux console (TERM=linux) the wizard draws only with the console font's glyphs, with
--ascii only with ASCII; with NO_COLOR the cursor row is in reverse video and the scrollbar
thumb a glyph; text colours read in the console's 16 colours."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from textual.scrollbar import ScrollBar, ScrollBarRender

from pfwizard import cli, live_probe
from pfwizard.tui import glyphs
from pfwizard.tui.diffview import diff_text
from pfwizard.tui.theme import PFWIZARD_ANSI, SEVERITY_STYLE
from pfwizard.tui.widgets.chain_list import ChainList
from tests.test_tui_fits import CASES
from tests.tui_app import SIZE

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_FONT = set(bytes(range(32, 127)).decode("ascii")) | set(
    bytes(range(128, 256)).decode("cp437")
)
"""What the Linux console's default font (the VGA font, code page 437) can draw."""
SCREENS = (
    "sender",
    "review",
    "recipe form",
    "add: argument",
    "table editor",
    "live probe",
    "restore review",
    "accept danger",
)


async def _drawn(app, keys) -> set[str]:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.1)
        return {ch for strip in app.screen._compositor.render_strips() for ch in strip.text}


@pytest.mark.parametrize("case", SCREENS)
async def test_linux_console_gets_only_its_fonts_glyphs(tmp_path, case, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", 1))
    build, keys = CASES[case]
    app = build(tmp_path)
    assert app.glyphs is glyphs.CONSOLE
    drawn = await _drawn(app, keys)
    assert drawn <= CONSOLE_FONT, sorted(drawn - CONSOLE_FONT)


@pytest.mark.parametrize("case", SCREENS)
async def test_ascii_draws_only_ascii(tmp_path, case, monkeypatch):
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", 1))
    build, keys = CASES[case]
    app = build(tmp_path)
    app.glyphs = glyphs.ASCII  # what --ascii sets (test_ascii_flag_reaches_the_app)
    app.stylesheet.set_variables(app.get_css_variables())  # as at build: the frame glyphs
    drawn = await _drawn(app, keys)
    assert all(ord(ch) < 127 for ch in drawn), sorted(ch for ch in drawn if ord(ch) >= 127)


def test_ascii_flag_reaches_the_app(monkeypatch):
    for words in (["--ascii"], ["demo", "--ascii"], ["--ascii", "rollback"]):
        command = cli.selected_command(words)
        assert cli.build_parser(command).parse_args(words).ascii
    assert not cli.build_parser().parse_args([]).ascii
    monkeypatch.setenv("TERM", "xterm-256color")
    assert glyphs.choose(ascii=True, term="linux") is glyphs.ASCII
    assert glyphs.choose(ascii=False, term="linux") is glyphs.CONSOLE
    assert glyphs.choose(ascii=False, term="xterm-256color") is glyphs.UNICODE


async def test_no_color_cursor_row_is_reverse_video_and_the_thumb_a_glyph(tmp_path, monkeypatch):
    from tests.tui_app import make_app

    monkeypatch.delenv("NO_COLOR", raising=False)
    before = ScrollBar.renderer
    app = make_app(tmp_path, start="sender", no_color=True)
    # The flag set NO_COLOR for Textual: gone again before the next test (a second delenv
    # would have monkeypatch put it back afterwards).
    os.environ.pop("NO_COLOR", None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        lst = app.screen.query_one(ChainList)
        strips = app.screen._compositor.render_strips()
        row = strips[lst.content_region.y]  # entry 1 has the cursor
        inner = row.crop(lst.content_region.x, lst.content_region.right)
        styled = [s for s in inner._segments if s.text.strip()]
        assert styled and all(s.style is not None and s.style.reverse for s in styled), styled
        # The risk panel's text is longer than the panel: its thumb must show without colour.
        assert any("█" in s.text for s in strips), "no scrollbar thumb drawn"
    assert ScrollBar.renderer is before  # put back for the next app in this process


def test_cell_scrollbar_draws_whole_cells():
    bar = glyphs.CellScrollBar.render_bar(size=12, virtual_size=40, window_size=10, position=15)
    text = "".join(s.text for s in bar.segments)
    assert set(text) <= {"█", " "} and text.count("█") == 3  # 12 rows, a quarter shown
    assert issubclass(glyphs.AsciiScrollBar, ScrollBarRender)


# ---- colours ---------------------------------------------------------------------------------
VGA = {
    "black": "000000",
    "red": "aa0000",
    "green": "00aa00",
    "yellow": "aa5500",
    "blue": "0000aa",
    "magenta": "aa00aa",
    "cyan": "00aaaa",
    "white": "aaaaaa",
    "bright_black": "555555",
    "bright_red": "ff5555",
    "bright_green": "55ff55",
    "bright_yellow": "ffff55",
    "bright_blue": "5555ff",
    "bright_magenta": "ff55ff",
    "bright_cyan": "55ffff",
    "bright_white": "ffffff",
    "default": "aaaaaa",
}
"""The Linux console's 16 colours (its default foreground is white, i.e. light grey)."""


def _luminance(name: str) -> float:
    rgb = VGA[name.removeprefix("ansi_")]
    out = []
    for i in (0, 2, 4):
        c = int(rgb[i : i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * out[0] + 0.7152 * out[1] + 0.0722 * out[2]


def contrast(fg: str, bg: str = "black") -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_text_colours_read_on_the_16_colour_console():
    assert contrast("bright_black") < 3  # the old hint colour: the measure agrees with the issue
    tcss = ROOT.joinpath("assets", "pfwizard.tcss").read_text()
    for rule in re.findall(r"([^{}]+)\{([^}]*)\}", tcss):
        body = rule[1]
        fg = re.search(r"(?<![-\w])color:\s*(ansi_\w+)", body)
        if not fg:
            continue
        bg = re.search(r"background:\s*(ansi_\w+)", body)
        back = bg.group(1) if bg and bg.group(1) != "ansi_default" else "black"
        assert contrast(fg.group(1), back) >= 4.5, (rule[0].strip(), fg.group(1), back)
    for severity, style in SEVERITY_STYLE.items():
        colour = style.split()[-1]
        assert contrast(colour) >= 4.5, (severity, style)
    v = PFWIZARD_ANSI.variables
    for fg, bg in (
        ("block-cursor-foreground", "block-cursor-background"),
        ("block-cursor-blurred-foreground", "block-cursor-blurred-background"),
        ("footer-key-foreground", None),
    ):
        assert contrast(v[fg], v[bg] if bg else "black") >= 4.5, (fg, bg)
    for span in diff_text("-removed\n+added\n@@ -1 +1 @@\n").spans:
        assert contrast(str(span.style).split()[-1]) >= 4.5, span
