"""Differential tests: pfwizard's reading and editing of main.cf against real Postfix.

For every MiaB fixture and for 1000 generated files (tests/bench/maincf_gen.py), the value
``MainCf.get(name)`` gives equals what ``postconf -n`` prints, for every parameter the file sets;
files postconf refuses we refuse too, naming the same line.  ``set``/``remove`` give the same
effective values as ``postconf -e``/``-X`` on a copy, and change only the target definition.

postconf prints values with whitespace runs folded to one space (tests/bench/postconf.py), so
values are compared through ``fold()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pfwizard.errors import ConfigError
from pfwizard.maincf import MainCf, PhysicalLine
from tests.bench.maincf_gen import NAMES, main_cf_files, rejected_files, values
from tests.bench.miab import FIXTURES
from tests.bench.postconf import KNOWN_NAMES, Postconf, Rejected, effective_many, fold
from tests.conftest import needs_postfix

pytestmark = needs_postfix

MAIN_CF_FIXTURES = sorted(p.name for p in FIXTURES.glob("main.cf.*"))
MANY = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postconf]:
    yield Postconf(tmp_path_factory.mktemp("postconf"))


def ours(cf: MainCf) -> dict[str, str]:
    return {name: fold(value) for name, value in cf.parameters().items()}


def assert_same_values(
    cf: MainCf, postconf: dict[str, str] | Rejected, known_only: bool = False
) -> None:
    assert not isinstance(postconf, Rejected), postconf
    # postconf -n leaves out names it does not know.  Generated files use known names, except
    # where a rejected_files() line turned out valid after all (see the rejection test).
    mine = {k: v for k, v in ours(cf).items() if not known_only or k in KNOWN_NAMES}
    assert {k: mine.get(k) for k in postconf} == postconf
    assert set(mine) == set(postconf)
    for name, value in postconf.items():
        assert fold(cf.get(name) or "") == value


# ---- the fold assumption itself ----------------------------------------------------------
def test_postconf_folds_whitespace_runs_on_output(oracle: Postconf) -> None:
    data = b"smtpd_banner = a  b\t\tc\n  d\r\n# c\n\te\x0bf \nmyhostname = x\x0c\n"
    got = oracle.effective(data)
    assert got == {"smtpd_banner": "a b c d e\x0bf", "myhostname": "x"}
    cf = MainCf.parse(data)
    assert cf.get("smtpd_banner") == "a  b\t\tc  d\te\x0bf"  # what Postfix stores
    assert_same_values(cf, got)


def test_crlf_before_vt_continuation(oracle: Postconf) -> None:
    """The one known difference: Postfix keeps the CR of CRLF inside a logical line.

    pfwizard treats CRLF as the line terminator.  Both values are the same words; they differ
    only when a continuation line starts with VT or FF (postconf does not fold those).
    """
    data = b"smtpd_banner = a\r\n\x0bb\r\n"
    assert oracle.effective(data) == {"smtpd_banner": "a \x0bb"}  # Postfix: "a\r\x0bb"
    assert MainCf.parse(data).get("smtpd_banner") == "a\x0bb"


# ---- the MiaB fixtures ---------------------------------------------------------------------
@pytest.mark.parametrize("fixture", MAIN_CF_FIXTURES)
def test_fixture_values_match_postconf(oracle: Postconf, fixture: str) -> None:
    data = (FIXTURES / fixture).read_bytes()
    got = oracle.effective(data)
    assert isinstance(got, dict)
    assert len(got) > 40
    cf = MainCf.parse(data)
    mine = ours(cf)
    # Fixtures may set names postconf does not know (it leaves those out); none here, but
    # compare only what postconf reports and make sure it reports nearly everything.
    assert {k: mine.get(k) for k in got} == got
    assert set(mine) - set(got) <= {"config_directory"}


def test_glued_value_matches_postconf(oracle: Postconf) -> None:
    data = (FIXTURES / "main.cf.customized-after-v75-setup").read_bytes()
    got = oracle.effective(data)
    assert isinstance(got, dict)
    sender = got["smtpd_sender_restrictions"]
    # Postfix itself sees MiaB's chain with the admin's old chain glued on.
    assert sender.startswith("reject_non_fqdn_sender,")
    assert "permit_sasl_authenticated," in sender
    assert fold(MainCf.parse(data).get("smtpd_sender_restrictions") or "") == sender


# ---- generated files -----------------------------------------------------------------------
REJECT_BATCH = 50


@pytest.fixture(scope="module")
def oracles(tmp_path_factory: pytest.TempPathFactory) -> list[Postconf]:
    return [Postconf(tmp_path_factory.mktemp("postconf")) for _ in range(REJECT_BATCH)]


@pytest.mark.slow
# No shrinking: with 40 slow files per example it would take minutes; the failing file is in
# the assertion message.
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(files=st.lists(rejected_files(), min_size=REJECT_BATCH, max_size=REJECT_BATCH))
def test_files_postconf_rejects_we_reject_on_the_same_line(
    oracles: list[Postconf], files: list[bytes]
) -> None:
    """Files with a line lacking '=': where postconf stops, we stop, naming the same line."""
    # 4 x 50 files: postconf sleeps 1 s on every fatal error, so they run side by side.
    rejected = 0
    for data, got in zip(files, effective_many(oracles, files), strict=True):
        if not isinstance(got, Rejected):
            # "x" followed by a continuation line "  =y" is a fine definition of "x".
            assert_same_values(MainCf.parse(data), got, known_only=True)
            continue
        rejected += 1
        with pytest.raises(ConfigError) as err:
            MainCf.parse(data, "/x/main.cf")
        assert err.value.line == got.line, data
        assert "missing" in err.value.message and got.message.startswith("missing")
        assert str(err.value).startswith(f"/x/main.cf, line {got.line}: ")
    assert rejected > len(files) // 2


def test_stray_continuation_at_top_postfix_warns_we_refuse(oracle: Postconf) -> None:
    data = b"# header\n\n  permit_mynetworks\nmyhostname = a\n"
    # Postfix only warns ("logical line must not start with whitespace") and skips it ...
    assert oracle.effective(data) == {"myhostname": "a"}
    # ... pfwizard refuses to guess what the admin meant.
    with pytest.raises(ConfigError) as err:
        MainCf.parse(data, "/etc/postfix/main.cf")
    assert err.value.line == 3
    assert str(err.value).startswith("/etc/postfix/main.cf, line 3: line starts with whitespace")


# ---- set / remove against postconf -e / -X -------------------------------------------------
def _texts(lines: list[PhysicalLine]) -> list[str]:
    return [ln.text for ln in lines]


def check_set(oracle: Postconf, data: bytes, name: str, value: str) -> None:
    before = MainCf.parse(data)
    target = before.last_definition(name)
    after = before.copy()
    after.set(name, value)

    # Same effective values as postconf -e on a copy (which rewrites *every* definition of
    # the name, where pfwizard rewrites the last one: the last one is the one that counts).
    if target is None and not data.endswith(b"\n"):
        # postconf -e appends "name = value" right after a last line without a newline,
        # gluing the two (test_postconf_e_glues_onto_a_last_line_without_newline).
        data += b"\n"
    theirs = oracle.effective(oracle.edit(data, "-e", f"{name} = {value}"))
    assert_same_values(after, theirs)
    assert fold(after.get(name) or "") == fold(value)

    # Only the target logical line changed: its first line replaced, its continuations gone.
    old, new = before.lines, after.lines
    if target is None:
        assert _texts(new[:-1]) == _texts(old)
        assert new[-1].text == f"{name} = {value}"
    else:
        gone = set(target.continuation)
        expect = [ln.text for k, ln in enumerate(old) if k not in gone]
        expect[target.index] = f"{name} = {value}"
        assert _texts(new) == expect
        assert [ln.eol for ln in new] == [ln.eol for k, ln in enumerate(old) if k not in gone]
    MainCf.parse(after.to_bytes())  # and what we wrote reads back


def check_remove(oracle: Postconf, data: bytes, name: str) -> None:
    before = MainCf.parse(data)
    after = before.copy()
    removed = after.remove(name)
    assert removed == (name in before)
    theirs = oracle.effective(oracle.edit(data, "-X", name))
    assert_same_values(after, theirs)
    assert name not in after
    gone = {k for d in before.definitions_of(name) for k in (d.index, *d.continuation)}
    assert _texts(after.lines) == [ln.text for k, ln in enumerate(before.lines) if k not in gone]


@pytest.mark.parametrize("fixture", MAIN_CF_FIXTURES)
def test_fixture_set_and_remove_match_postconf(oracle: Postconf, fixture: str) -> None:
    data = (FIXTURES / fixture).read_bytes()
    for name in ("smtpd_sender_restrictions", "smtpd_recipient_restrictions", "header_checks"):
        check_set(oracle, data, name, "permit_mynetworks, reject_unauth_destination")
        check_remove(oracle, data, name)


def test_set_on_the_glued_fixture_drops_the_glued_lines(oracle: Postconf) -> None:
    data = (FIXTURES / "main.cf.customized-after-v75-setup").read_bytes()
    check_set(oracle, data, "smtpd_sender_restrictions", "reject_non_fqdn_sender")
    cf = MainCf.parse(data)
    cf.set("smtpd_sender_restrictions", "reject_non_fqdn_sender")
    assert cf.glued_continuations() == []
    text = cf.render()
    assert "#smtpd_sender_restrictions =\n#smtpd_recipient" in text  # the comment stays


def test_postconf_e_glues_onto_a_last_line_without_newline(oracle: Postconf) -> None:
    data = b"myhostname = a\nmydomain = b"
    glued = oracle.edit(data, "-e", "relayhost = x")
    assert glued == b"myhostname = a\nmydomain = brelayhost = x\n"  # Postfix's own quirk
    cf = MainCf.parse(data)
    cf.set("relayhost", "x")
    assert cf.to_bytes() == b"myhostname = a\nmydomain = b\nrelayhost = x\n"


def test_set_appends_with_the_file_line_ending(oracle: Postconf) -> None:
    data = b"myhostname = a\r\nmydomain = b"
    check_set(oracle, data, "relayhost", "[smtp.example.net]:587")
    cf = MainCf.parse(data)
    cf.set("relayhost", "x")
    assert cf.to_bytes() == b"myhostname = a\r\nmydomain = b\r\nrelayhost = x\r\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as p:
        yield p


@pytest.mark.slow
@MANY
@given(data=main_cf_files(), name=NAMES, value=values(), remove=st.booleans())
def test_generated_files_match_postconf(
    oracles: list[Postconf],
    pool: ThreadPoolExecutor,
    data: bytes,
    name: str,
    value: str,
    remove: bool,
) -> None:
    """1000 generated files: every get() equals postconf -n; set() or remove() on the file
    gives what postconf -e / -X give on a copy.  The two postconf runs go side by side."""
    cf = MainCf.parse(data)
    assert cf.to_bytes() == data
    if remove:
        edited = pool.submit(check_remove, oracles[1], data, name)
    else:
        edited = pool.submit(check_set, oracles[1], data, name, value)
    assert_same_values(cf, oracles[0].effective(data))
    edited.result()
