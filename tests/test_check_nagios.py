"""`pfwizard check --nagios` as a monitoring plugin runner calls it (a subprocess, no terminal):
one status line `PFWIZARD STATE - text | danger=N caution=N`, exit 0/1/2/3; and `-c DIR`,
Postfix's letter for the configuration directory, beside --config-dir."""

from __future__ import annotations

import re

from tests.test_check import check, config

STATUS = re.compile(
    r"PFWIZARD (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+"
    r"(\| danger=(\d+) caution=(\d+))?\n\Z"
)


def plugin(config_dir, *extra):
    r = check(config_dir, "--nagios", "--state-dir", str(config_dir / "state"), *extra)
    m = STATUS.match(r.stdout)
    assert m, f"not one plugin status line: {r.stdout!r} (stderr {r.stderr!r})"
    return r.returncode, m


def test_miab_as_shipped_is_ok_with_perfdata(tmp_path):
    code, m = plugin(config(tmp_path))
    assert (code, m[1], m[3], m[4]) == (0, "OK", "0", "0")


def test_cautions_are_warning(tmp_path):
    code, m = plugin(
        config(
            tmp_path, "main.cf.customized-after-v75-setup", "master.cf.customized-after-v75-setup"
        )
    )
    assert (code, m[1], m[3]) == (1, "WARNING", "0") and int(m[4]) >= 1
    assert "glued" in m[0] or "caution" in m[0]


def test_a_danger_is_critical_and_named(tmp_path):
    d = config(tmp_path)
    main = d / "main.cf"
    main.write_text(
        main.read_text().replace("reject_unknown_sender_domain,", "reject_unknown_sender_domian,")
    )
    code, m = plugin(d)
    assert (code, m[1], m[3]) == (2, "CRITICAL", "1")
    assert "smtpd_sender_restrictions" in m[0]


def test_an_unreadable_configuration_is_unknown_not_critical(tmp_path):
    code, m = plugin(tmp_path)  # no main.cf at all
    assert (code, m[1], m[2]) == (3, "UNKNOWN", None)
    assert "main.cf" in m[0]
    (tmp_path / "main.cf").write_bytes(b"smtpd_sender_restrictions = \x00\n")
    code, m = plugin(tmp_path)  # a main.cf pfwizard refuses to read
    assert (code, m[1]) == (3, "UNKNOWN")


def test_a_bad_command_line_is_unknown(tmp_path):
    code, m = plugin(config(tmp_path), "--no-such-option")
    assert (code, m[1]) == (3, "UNKNOWN")


def test_dash_c_is_config_dir_before_and_after_the_command(tmp_path):
    d = config(tmp_path)
    from pfwizard.cli import build_parser

    for argv in (["-c", str(d), "check"], ["check", "-c", str(d)], [f"-c{d}", "check"]):
        assert build_parser("check").parse_args(argv).config_dir == str(d)
    r = check(d, "-c", "/nonexistent")  # the last one given wins, as with any option
    assert r.returncode == 2 and "/nonexistent/main.cf" in r.stderr
