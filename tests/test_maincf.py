"""main.cf core without Postfix: byte-exact round trip, glued continuation lines, refusals.

What Postfix itself makes of the same files is in test_maincf_postconf.py.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfwizard.errors import ConfigError, ValueRefused
from pfwizard.maincf import MAX_LINE_CHARS, GluedContinuation, MainCf
from tests.bench.maincf_gen import NAMES, main_cf_files
from tests.bench.miab import FIXTURES

MAIN_CF_FIXTURES = sorted(p.name for p in FIXTURES.glob("main.cf.*"))
GLUED = "main.cf.customized-after-v75-setup"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# ---- round trip --------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", MAIN_CF_FIXTURES)
def test_fixture_round_trips_byte_for_byte(fixture: str) -> None:
    data = fixture_bytes(fixture)
    cf = MainCf.read(FIXTURES / fixture)
    assert cf.to_bytes() == data
    assert cf.render().encode() == data


@pytest.mark.parametrize("fixture", MAIN_CF_FIXTURES)
def test_crlf_and_no_final_newline_round_trip(fixture: str) -> None:
    crlf = fixture_bytes(fixture).replace(b"\n", b"\r\n")
    for data in (crlf, crlf.rstrip(b"\r\n"), fixture_bytes(fixture).rstrip(b"\n")):
        cf = MainCf.parse(data)
        assert cf.to_bytes() == data
        # The same parameters, the same values: CRLF is only a line ending.
        assert cf.parameters() == MainCf.parse(fixture_bytes(fixture)).parameters()


def test_latin1_byte_in_a_comment_round_trips() -> None:
    data = b"# r\xe9glages de Ren\xe9\nmyhostname = box.example.com\n# \xff\xfe end\n"
    cf = MainCf.parse(data)
    assert cf.to_bytes() == data
    cf.set("mydomain", "example.com")
    assert cf.to_bytes() == data + b"mydomain = example.com\n"


def test_edit_keeps_everything_else_byte_for_byte() -> None:
    data = fixture_bytes("main.cf.v75-fresh")
    cf = MainCf.parse(data)
    d = cf.last_definition("smtpd_sender_restrictions")
    assert d is not None
    cf.set("smtpd_sender_restrictions", "reject_non_fqdn_sender")
    before, after = data.split(b"\n"), cf.to_bytes().split(b"\n")
    assert len(before) == len(after)
    changed = [k for k, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [d.index]
    assert after[d.index] == b"smtpd_sender_restrictions = reject_non_fqdn_sender"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_anything_that_parses_round_trips(data: bytes) -> None:
    try:
        cf = MainCf.parse(data)
    except ConfigError:
        return
    assert cf.to_bytes() == data


@settings(max_examples=200, deadline=None)
@given(data=main_cf_files())
def test_generated_files_round_trip(data: bytes) -> None:
    assert MainCf.parse(data).to_bytes() == data


# ---- glued continuation lines ------------------------------------------------------------
def test_glued_lines_after_the_v75_upgrade() -> None:
    cf = MainCf.read(FIXTURES / GLUED)
    glued = cf.glued_continuations()
    assert len(glued) == 1
    g = glued[0]
    lines = fixture_bytes(GLUED).decode().split("\n")
    assert g.parameter == "smtpd_sender_restrictions"
    assert lines[g.definition_line - 1].startswith("smtpd_sender_restrictions=reject_non_fqdn")
    assert g.definition_line == 81
    assert g.commented_name == "smtpd_sender_restrictions"
    assert g.comment_line == 82
    assert lines[g.comment_line - 1] == "#smtpd_sender_restrictions ="
    assert g.glued_lines == (83, 84, 85, 86, 87)
    assert g.glued_text.split() == [
        "permit_sasl_authenticated,",
        "reject_non_fqdn_sender,",
        "reject_unknown_sender_domain,",
        "reject_authenticated_sender_login_mismatch,",
        "reject_rhsbl_sender",
        "dbl.spamhaus.org=127.0.1.[2..99]",
    ]
    # The glued text really is part of the effective value, as Postfix computes it.
    value = cf.get("smtpd_sender_restrictions") or ""
    assert value.split()[-6:] == g.glued_text.split()
    text = g.describe()
    assert "lines 83-87" in text and "line 82" in text and "(line 81)" in text
    assert "permit_sasl_authenticated, reject_non_fqdn_sender" in text


@pytest.mark.parametrize("fixture", [f for f in MAIN_CF_FIXTURES if f != GLUED])
def test_other_fixtures_have_no_glued_lines(fixture: str) -> None:
    assert MainCf.read(FIXTURES / fixture).glued_continuations() == []


def test_glue_under_a_different_commented_parameter() -> None:
    data = (
        "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"
        "\n"
        "#smtpd_sender_restrictions = permit_mynetworks,\n"
        "    reject_unknown_sender_domain\n"
    )
    cf = MainCf.parse(data)
    assert cf.glued_continuations() == [
        GluedContinuation(
            parameter="smtpd_recipient_restrictions",
            definition_line=1,
            commented_name="smtpd_sender_restrictions",
            comment_line=3,
            glued_lines=(4,),
            glued_text="reject_unknown_sender_domain",
        )
    ]
    assert (cf.get("smtpd_recipient_restrictions") or "").endswith(
        "reject_unauth_destination    reject_unknown_sender_domain"
    )
    assert "'smtpd_sender_restrictions', commented out on line 3" in (
        cf.glued_continuations()[0].describe()
    )


def test_plain_continuations_and_comments_inside_a_value_are_no_glue() -> None:
    data = (
        "smtpd_recipient_restrictions = permit_mynetworks,\n"
        "    # allow our own networks first\n"
        "    reject_unauth_destination\n"
    )
    cf = MainCf.parse(data)
    assert cf.glued_continuations() == []
    assert cf.get("smtpd_recipient_restrictions") == (
        "permit_mynetworks,    reject_unauth_destination"
    )


@settings(max_examples=200, deadline=None)
@given(
    param=NAMES,
    commented=NAMES,
    own=st.lists(st.sampled_from(["permit_mynetworks,", "reject_unauth_destination"]), max_size=2),
    blanks=st.lists(st.sampled_from(["", "  ", "# just a remark"]), max_size=2),
    glued=st.lists(
        st.sampled_from(
            [
                "permit_sasl_authenticated,",
                "reject_non_fqdn_sender,",
                "check_policy_service inet:127.0.0.1:10023",
            ]
        ),
        min_size=1,
        max_size=4,
    ),
    crlf=st.booleans(),
)
def test_glue_is_found_where_it_is(
    param: str, commented: str, own: list[str], blanks: list[str], glued: list[str], crlf: bool
) -> None:
    lines = ["# head", f"{param}=reject_non_fqdn_sender"]
    lines += [f"\t{w}" for w in own] + blanks
    comment_line = len(lines) + 1
    lines.append(f"#{commented} =")
    lines += [f"    {w}" for w in glued]
    lines.append("inet_interfaces = all")  # not one of NAMES: it must not override param
    eol = "\r\n" if crlf else "\n"
    cf = MainCf.parse(eol.join(lines) + eol)
    found = cf.glued_continuations()
    assert len(found) == 1
    g = found[0]
    assert (g.parameter, g.definition_line) == (param, 2)
    assert (g.commented_name, g.comment_line) == (commented, comment_line)
    assert g.glued_lines == tuple(range(comment_line + 1, comment_line + 1 + len(glued)))
    assert g.glued_text.split() == " ".join(glued).split()
    assert (cf.get(param) or "").split()[-len(" ".join(glued).split()) :] == g.glued_text.split()


# ---- refusing values and names -----------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "permit\nsmtpd_relay_restrictions = permit",
        "permit\r",
        "a\x00b",
        "a\x1bb",
        "a\x7f",
        "\x0b",
    ],
)
def test_control_characters_are_refused_and_nothing_changes(tmp_path: Path, value: str) -> None:
    path = tmp_path / "main.cf"
    path.write_bytes(fixture_bytes("main.cf.v75-fresh"))
    cf = MainCf.read(path)
    before = cf.to_bytes()
    with pytest.raises(ValueRefused, match="control character") as err:
        cf.set("smtpd_sender_restrictions", value)
    assert "smtpd_sender_restrictions" in str(err.value)
    assert "position" in str(err.value)
    assert cf.to_bytes() == before
    assert path.read_bytes() == before


def test_tab_is_whitespace_not_a_control_character() -> None:
    cf = MainCf.parse("smtpd_sender_restrictions = a,\n\tb\n")
    cf.set("smtpd_sender_restrictions", cf.get("smtpd_sender_restrictions") or "")
    assert cf.render() == "smtpd_sender_restrictions = a,\tb\n"


@pytest.mark.parametrize("name", ["", "my name", "a=b", "#x", "na\nme", " lead", "x\x00"])
def test_bad_parameter_names_are_refused(name: str) -> None:
    cf = MainCf.parse(fixture_bytes("main.cf.v75-fresh"))
    before = cf.to_bytes()
    for edit in (lambda: cf.set(name, "x"), lambda: cf.remove(name)):
        with pytest.raises(ValueRefused, match="not a valid Postfix parameter name"):
            edit()
    assert cf.to_bytes() == before


def test_unwritable_value_is_refused() -> None:
    cf = MainCf.parse(b"myhostname = a\n")
    with pytest.raises(ValueRefused, match="cannot be written"):
        cf.set("mydomain", "a\ud800b")  # a lone surrogate: no byte sequence means this
    with pytest.raises(ValueRefused, match="longer than"):
        cf.set("mydomain", "a" * (MAX_LINE_CHARS + 1))
    assert cf.to_bytes() == b"myhostname = a\n"


# ---- malformed files ---------------------------------------------------------------------
def read_error(tmp_path: Path, data: bytes) -> ConfigError:
    path = tmp_path / "main.cf"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        MainCf.read(path)
    assert err.value.path == str(path)
    assert "Traceback" not in str(err.value)
    return err.value


@pytest.mark.parametrize(
    "data, line, words",
    [
        (b"myhostname = a\nsmtpd_sender_restrictions\n  reject\n", 2, "missing '='"),
        (b"myhostname = a\nmy hostname = b\n", 2, "missing '='"),
        (b"myhostname = a\n= b\n", 2, "missing parameter name"),
        (b"# top\n\n   permit_mynetworks,\nmyhostname = a\n", 3, "continues nothing"),
        (b"myhostname = a\nmydomain = ex\x00ample\n", 2, "binary data (byte 0x00"),
        (b"\x1f\x8b\x08\x00\x00\x00", 1, "binary data (byte 0x1f"),
    ],
)
def test_malformed_file_names_file_and_line(
    tmp_path: Path, data: bytes, line: int, words: str
) -> None:
    err = read_error(tmp_path, data)
    assert err.line == line
    assert str(err).startswith(f"{tmp_path / 'main.cf'}, line {line}: ")
    assert words in err.message


@pytest.mark.parametrize("seed", range(20))
def test_binary_garbage_is_a_config_error(tmp_path: Path, seed: int) -> None:
    garbage = random.Random(seed).randbytes(4096)
    err = read_error(tmp_path, garbage)
    assert err.line is not None and err.line >= 1


def test_a_3mb_line_is_refused_quickly(tmp_path: Path) -> None:
    data = b"myhostname = a\nmydomain = " + b"x" * (3 * 1024 * 1024) + b"\n"
    started = time.monotonic()
    err = read_error(tmp_path, data)
    assert time.monotonic() - started < 2
    assert err.line == 2
    assert "characters long" in err.message


def test_a_10mb_file_is_not_read(tmp_path: Path) -> None:
    """Over 4 MiB (pfwizard.inputs.MAX_CONFIG_BYTES) it is refused before reading."""
    err = read_error(tmp_path, b"mydomain = " + b"x" * (10 * 1024 * 1024) + b"\n")
    assert err.line is None and "larger than 4 MiB" in err.message


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "main.cf"
    with pytest.raises(ConfigError, match="cannot read") as e:
        MainCf.read(missing)
    assert e.value.line is None and str(e.value).startswith(f"{missing}: cannot read")
    with pytest.raises(ConfigError, match="is a directory, not a regular file") as e:
        MainCf.read(tmp_path)


def test_empty_file_is_fine() -> None:
    cf = MainCf.parse(b"")
    assert cf.parameters() == {}
    cf.set("myhostname", "box.example.com")
    assert cf.to_bytes() == b"myhostname = box.example.com\n"
