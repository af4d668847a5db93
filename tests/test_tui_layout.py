"""The chain screens' layout: the risk panel beside (about 40% wide) or below the list, text that
wraps between words with continuation rows indented, a legend for the marks, marks that follow
a table save, and only the findings heading in bold."""

from __future__ import annotations

import pytest

from pfwizard.screens.table_editor import TableEditorScreen
from pfwizard.tui.widgets.chain_list import ChainList
from pfwizard.tui.widgets.risk_panel import RiskPanel
from pfwizard.tui.wrap import BREAK_AFTER, row_starts, wrap
from tests.test_tui_snapshots import seed_change
from tests.tui_app import SIZE, make_app

SUBMISSION_FINDING = (
    "  on Mail-in-a-Box the submission ports (587, 465) use the same "
    "smtpd_sender_restrictions and it has no permit_sasl_authenticated before its checks: "
    "reject_non_fqdn_sender, reject_unknown_sender_domain, "
    "reject_authenticated_sender_login_mismatch, reject_rhsbl_sender "
    "dbl.spamhaus.org=127.0.1.[2..99]"
)


def rows(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def test_a_label_is_not_left_alone_above_a_long_list():
    """The label "now:" then a list with no space in it: the row breaks after a comma of the list,
    not after the label (which would leave it alone on a row, the list below)."""
    text = "    now:      reject_non_fqdn_sender,reject_unknown_sender_domain,reject_rhsbl_sender"
    out = wrap(text, 60).plain.split("\n")
    assert out[0].startswith("    now:      reject_non_fqdn_sender,"), out
    assert all(len(r) <= 60 for r in out)


def test_wrapped_details_continue_deeper_than_their_own_indent():
    """The impact report: an indented detail that wraps continues two columns under its own
    text, so it can't be read as the next detail; a line at column 0 continues at ``bare``."""
    text = (
        "What the preview could not replay:\n"
        "  365 authenticated submissions skipped (the replay cannot log in as the user)"
    )
    out = wrap(text, 40, None, bare=2, deeper=2).plain.split("\n")
    assert out[0] == "What the preview could not replay:"
    assert out[1].startswith("  365 ")
    assert all(r.startswith("    ") and r[4] != " " for r in out[2:]), out


@pytest.mark.parametrize("width", range(22, 70, 3))  # the longest piece fits
def test_wrap_breaks_between_words_or_after_punctuation(width):
    for text, hang in (
        (SUBMISSION_FINDING, None),
        ("i  3. reject_authenticated_sender_login_mismatch", 6),
    ):
        starts = row_starts(text, width, 6 if hang else 2)
        for at in starts:
            # A break after a space, or after _ , . / = : ; -  never inside a word.
            assert text[at - 1] == " " or text[at - 1] in BREAK_AFTER, (width, text[:at])
        out = wrap(text, width, hang).plain.split("\n")
        assert all(len(r) <= width for r in out), (width, out)
        assert "sender_do\n" not in wrap(text, width, hang).plain
        # Continuation rows are indented, never back at column 0.
        assert all(r.startswith("  ") for r in out[1:]), out
        # Nothing lost or added but the breaks and the indentation.
        assert "".join(r.strip() for r in out).replace(" ", "") == text.replace(" ", "")


async def test_panel_beside_the_list_about_40_percent_when_there_is_room(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lst, panel = app.screen.query_one(ChainList), app.screen.query_one(RiskPanel)
        assert panel.region.x >= lst.region.right and panel.region.y == lst.region.y
        assert 44 <= panel.region.width <= 52, panel.region
        text = "\n".join(rows(app))
        assert "reject_unknown_sender_do\n" not in text


async def test_panel_beside_at_80x24_and_below_on_a_narrow_tall_terminal(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lst, panel = app.screen.query_one(ChainList), app.screen.query_one(RiskPanel)
        assert panel.region.x >= lst.region.right and panel.region.width >= 30
    app = make_app(tmp_path / "b", start="sender")
    async with app.run_test(size=(72, 40)) as pilot:
        await pilot.pause()
        lst, panel = app.screen.query_one(ChainList), app.screen.query_one(RiskPanel)
        assert panel.region.y >= lst.region.bottom and panel.region.width == lst.region.width


async def test_long_arguments_indent_under_the_entry_and_the_marks_have_a_legend(tmp_path):
    app = make_app(tmp_path, start="sender")
    table = seed_change(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ChainList)
        x, y = lst.content_region.x, lst.content_region.y
        screen = rows(app)
        listed = [r[x : x + lst.content_region.width] for r in screen[y : y + 8]]
        path_rows = [r for r in listed if r.strip() and not r[:5].strip()]
        assert "".join(r.strip() for r in path_rows).startswith(f"regexp:{table}"[:40])
        assert all(r.startswith("      ") for r in path_rows), listed  # column 6, never 0
        legend = screen[lst.region.bottom - 1]
        assert "i info" in legend and "! caution" in legend and "X danger" in legend


async def test_saving_a_new_table_clears_the_danger_mark(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "a", *"check_sender_acc", "enter")
        await pilot.pause()
        await pilot.press("enter")  # the suggested table: new, so its editor opens
        await pilot.pause()
        assert isinstance(app.screen, TableEditorScreen)
        lst = app.screen_stack[-2].query_one(ChainList)
        assert lst.prompts()[1].startswith("X")  # no table yet: smtpd would answer 451
        await pilot.press(*"/^x@example\\.com$/ OK", "f2")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, TableEditorScreen)
        shown = [str(o.prompt.plain) for o in lst._options]
        assert not shown[1].startswith("X"), shown
        assert shown == lst.prompts()


async def test_only_the_findings_heading_is_bold_nothing_underlined(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(RiskPanel)
        strips = app.screen._compositor.render_strips()
        inner = panel.content_region
        heading = next(
            y for y in range(inner.y, inner.bottom) if "Findings for this stage" in strips[y].text
        )
        for y in range(inner.y, inner.bottom):
            for seg in strips[y].crop(inner.x, inner.right)._segments:
                style = seg.style
                if style is None or not seg.text.strip():
                    continue
                assert not style.underline, (y, seg.text)
                if y > heading and style.bold:
                    assert seg.text.strip() in ("X", "DANGER", "X DANGER"), (y, seg.text)


def test_diff_wrapping_cannot_be_read_as_diff_lines():
    from pfwizard.tui.diffview import WRAP_MARK, diff_text

    line = "+smtpd_sender_restrictions = " + SUBMISSION_FINDING.strip()
    out = diff_text(f"--- a/main.cf\n+++ b/main.cf\n{line}\n", 60).plain.splitlines()
    body = out[2:]
    assert body[0].startswith("+smtpd_sender_restrictions") and len(body) > 2
    for row in body[1:]:
        # Not a diff line: no +, - or space in the sign column, no "->"/"+>" either.
        assert row.startswith(WRAP_MARK + "  ") and row[0] not in "+- @\\", row
        assert "->" not in row and "+>" not in row
        assert len(row) <= 60
    joined = body[0] + "".join(" " + r[3:] for r in body[1:])
    assert joined.replace(" ", "") == line.replace(" ", "")


async def test_review_says_the_change_in_words_above_the_diff(tmp_path):
    app = make_app(tmp_path, start="review")
    seed_change(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = rows(app)
        summary = next(n for n, r in enumerate(screen) if "This change" in r)
        assert "adds one entry to the sender list and creates one table" in screen[summary]
        assert summary < next(n for n, r in enumerate(screen) if "--- " in r)
