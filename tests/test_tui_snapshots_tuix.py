"""SVG snapshots at 80x24 of the restore, recipes and live probe screens.

Update after an intended change:
``pytest tests/test_tui_snapshots_tuix.py --snapshot-update``.
"""

from __future__ import annotations

from pfwizard import live_probe
from pfwizard.session import Session
from pfwizard.wizard.state import ProbeSample
from tests.miab_setup import box, customise, release_values, run_setup_on
from tests.test_tui_snapshots import root  # noqa: F401  (fixed directory: stable paths)
from tests.tui_app import SIZE, TestApp, make_app


def upgraded_app(path, start: str) -> TestApp:
    config_dir, state_dir = box(path)
    customise(config_dir, state_dir)
    run_setup_on(config_dir / "main.cf", release_values())
    s = Session.open(config_dir, state_dir, reload=False, miab_checkout=path / "none")
    return TestApp(s, start=start)


def test_restore_three_way(snap_compare, root):  # noqa: F811
    assert snap_compare(upgraded_app(root, "restore"), terminal_size=SIZE)


def test_restore_review(snap_compare, root):  # noqa: F811
    assert snap_compare(upgraded_app(root, "restore"), terminal_size=SIZE, press=["n"])


def test_welcome_offers_restore(snap_compare, root):  # noqa: F811
    assert snap_compare(upgraded_app(root, "welcome"), terminal_size=SIZE)


def test_recipes_list(snap_compare, root):  # noqa: F811
    assert snap_compare(make_app(root, start="recipes"), terminal_size=SIZE)


def test_recipe1_form(snap_compare, root):  # noqa: F811
    assert snap_compare(make_app(root, start="recipes"), terminal_size=SIZE, press=["enter", "f4"])


def test_probe_cannot_connect(snap_compare, root, monkeypatch):  # noqa: F811
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", 1))
    app = make_app(root, start="done")
    app.state.probe_sample = ProbeSample("x@nowhere.example", ("admin@box.example.com",))

    async def wait(pilot):
        await pilot.press("f5")
        for _ in range(100):
            await pilot.pause(0.05)
            if getattr(app.screen, "last", None) is not None or any(
                "failed" in w or "could not" in w for w in getattr(app.screen, "written", [])
            ):
                break

    assert snap_compare(app, terminal_size=SIZE, run_before=wait)


def test_restore_conflict_side_by_side(snap_compare, root):  # noqa: F811
    from pfwizard.maincf import MainCf

    app = upgraded_app(root, "restore")
    main_cf = app.session.config_dir / "main.cf"
    cf = MainCf.read(main_cf)
    cf.set(
        "smtpd_sender_restrictions",
        "reject_non_fqdn_sender,reject_authenticated_sender_login_mismatch",
    )
    main_cf.write_bytes(cf.to_bytes())
    assert snap_compare(app, terminal_size=SIZE, press=["o", "end"])


def test_milter_address_refused(snap_compare, root):  # noqa: F811
    """The milter stage's address dialog, after a typo it refuses (nothing is added): the
    port typed after the prefilled ``inet:127.0.0.1:`` has a letter in it."""
    assert snap_compare(
        make_app(root, start="milter"), terminal_size=SIZE, press=["a", *"88g3", "enter"]
    )


def test_restore_apply(snap_compare, root):  # noqa: F811
    """The restore carried out by the real engine on the upgraded copy (no reload)."""
    from tests.test_tui_snapshots_sizes import _restored

    assert snap_compare(upgraded_app(root, "restore"), terminal_size=SIZE, run_before=_restored)
