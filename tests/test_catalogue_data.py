"""The catalogue's data file (pfwizard/knowledge/catalogue.ini) against its schema: every
section has the keys of its kind and only those, every value is one the code knows (lists,
targets, argument kinds, effects, risk levels, versions), no name twice, every restriction
Postfix 3.7's postconf(5) documents for the restriction lists is offered or listed as not
offered with a reason; a broken file is refused naming the place; loading stays fast; and an
installed wheel holds the file."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from pfwizard import catalogue
from pfwizard.catalogue import (
    DATA_FILE,
    NOT_OFFERED,
    RESTRICTIONS,
    SECTION_KEYS,
    ArgKind,
    CatalogueError,
    Effect,
    Target,
    load,
    read_sections,
)
from pfwizard.findings import Severity

REPO = Path(__file__).resolve().parent.parent
SECTIONS = read_sections(DATA_FILE.read_text(encoding="utf-8"), str(DATA_FILE))
VERSION = re.compile(r"^[1-9]\d*\.\d+$")
MAN_PAGE = Path("/usr/share/man/man5/postconf.5.gz")
LIST_SECTIONS = re.compile(
    r"^\.SH smtpd_(client|helo|sender|relay|recipient|data|end_of_data)_restrictions\b"
)

# What postconf(5) of Postfix 3.7.11 documents under the smtpd_*_restrictions parameters
# (their ``.IP`` entries), kept here for machines without the man page.
POSTCONF_5_3_7 = """
check_ccert_access check_client_a_access check_client_access check_client_mx_access
check_client_ns_access check_helo_a_access check_helo_access check_helo_mx_access
check_helo_ns_access check_policy_service check_recipient_a_access check_recipient_access
check_recipient_mx_access check_recipient_ns_access check_reverse_client_hostname_a_access
check_reverse_client_hostname_access check_reverse_client_hostname_mx_access
check_reverse_client_hostname_ns_access check_sasl_access check_sender_a_access
check_sender_access check_sender_mx_access check_sender_ns_access defer defer_if_permit
defer_if_reject defer_unauth_destination permit permit_auth_destination permit_dnswl_client
permit_inet_interfaces permit_mx_backup permit_mynetworks permit_rhswl_client
permit_sasl_authenticated permit_tls_all_clientcerts permit_tls_clientcerts reject
reject_authenticated_sender_login_mismatch reject_invalid_helo_hostname
reject_known_sender_login_mismatch reject_multi_recipient_bounce
reject_non_fqdn_helo_hostname reject_non_fqdn_recipient reject_non_fqdn_sender
reject_plaintext_session reject_rbl_client reject_rhsbl_client reject_rhsbl_helo
reject_rhsbl_recipient reject_rhsbl_reverse_client reject_rhsbl_sender
reject_sender_login_mismatch reject_unauth_destination reject_unauth_pipelining
reject_unauthenticated_sender_login_mismatch reject_unknown_client_hostname
reject_unknown_helo_hostname reject_unknown_recipient_domain
reject_unknown_reverse_client_hostname reject_unknown_sender_domain
reject_unlisted_recipient reject_unlisted_sender reject_unverified_recipient
reject_unverified_sender sleep warn_if_reject
""".split()  # noqa: SIM905 (reads like the man page's index)


def documented_by_man_page(text: str) -> set[str]:
    """The names postconf(5) gives as ``.IP "\\fBname ..."`` under a restriction list."""
    names: set[str] = set()
    inside = False
    for line in text.splitlines():
        if line.startswith(".SH "):
            inside = LIST_SECTIONS.match(line) is not None
        elif inside:
            m = re.match(r'^\.IP "?\\fB([a-z_0-9]+)', line)
            if m:
                names.add(m.group(1))
    return names


def kind_of(section: str) -> str:
    return section.partition(" ")[0]


def test_every_section_has_the_keys_of_its_kind_and_no_other() -> None:
    kinds = {kind_of(name) for name in SECTIONS} - {"text", "not"}
    assert kinds == set(SECTION_KEYS)
    for name, values in SECTIONS.items():
        if kind_of(name) not in SECTION_KEYS:
            assert name in ("text", "not offered"), name
            continue
        required, optional = SECTION_KEYS[kind_of(name)]
        assert required <= set(values) <= required | optional, name
        may_be_empty = {"bare_table", "delayed", "condition", "argument"}
        for key in required - may_be_empty:
            assert values[key], f"[{name}] {key} is empty"


def test_every_value_is_one_the_code_knows() -> None:
    lists = [name.split()[1] for name in SECTIONS if kind_of(name) == "list"]
    assert lists == catalogue.LISTS
    params = [SECTIONS[f"list {k}"]["parameter"] for k in lists]
    assert params == [f"smtpd_{k}_restrictions" for k in lists]
    targets = {name.split()[1] for name in SECTIONS if kind_of(name) == "target"}
    assert targets == {t.value for t in Target}
    for name, values in SECTIONS.items():
        kind, _, key = name.partition(" ")
        if kind == "list" and values["bare_table"]:
            assert values["bare_table"] in RESTRICTIONS, name
        if kind == "target":
            assert set(values["delayed"].split()) <= set(values["lists"].split()) <= set(lists)
        if kind == "restriction":
            assert re.fullmatch(r"[a-z][a-z_]*", key), f"[{name}]: lower case, like Postfix"
            assert values["target"] in {t.value for t in Target}, name
            assert values["argument"] in {a.value for a in ArgKind}, name
            assert values["effect"] in {e.value for e in Effect}, name
            assert set(values.get("lists", "").split()) <= set(lists), name
            for flag in ("dns", "outsider_permit", "guard"):
                assert values.get(flag, "no") in ("yes", "no"), (name, flag)
        if kind == "action":
            assert re.fullmatch(r"[A-Z][A-Z_]*", key), f"[{name}]: upper case, like access(5)"
            assert values["effect"] in {e.value for e in Effect}, name
        if kind in ("restriction", "action"):
            assert values["risk"] in {s.value for s in Severity}, name
            assert VERSION.match(values["since"]), name
            assert values["risk_text"].endswith("."), name
            assert values["summary"].endswith("."), name
            assert "${" not in values["risk_text"] + values["summary"], name
    for r in RESTRICTIONS.values():
        if r.removed is not None:
            assert VERSION.match(r.removed)
            since, removed = (tuple(map(int, v.split("."))) for v in (r.since, r.removed))
            assert since < removed, r.name
        if r.alias_of is not None:
            current = RESTRICTIONS[r.alias_of]  # names one that exists
            assert current.alias_of is None and current.removed is None, r.name


def test_no_name_twice() -> None:
    for kind in ("list", "target", "restriction", "action"):  # smtpd ignores case
        names = [n.partition(" ")[2].lower() for n in SECTIONS if kind_of(n) == kind]
        assert len(names) == len(set(names)), kind
    assert not set(NOT_OFFERED) & set(RESTRICTIONS)
    duplicated = DATA_FILE.read_text() + "\n[restriction permit]\ntarget = generic\n"
    with pytest.raises(CatalogueError, match=r"line \d+: \[restriction permit\] given twice"):
        read_sections(duplicated, "catalogue.ini")
    with pytest.raises(CatalogueError, match=r"line 3: since given twice"):
        read_sections("[action X]\nsince = 1.0\nsince = 2.0\n", "catalogue.ini")


def test_every_restriction_postfix_3_7_documents_is_offered_or_said_not_to_be() -> None:
    offered = set(RESTRICTIONS) | set(NOT_OFFERED)
    assert not [n for n in POSTCONF_5_3_7 if n not in offered]
    if MAN_PAGE.exists():  # the installed Postfix's own words (3.7 here)
        text = gzip.decompress(MAN_PAGE.read_bytes()).decode("utf-8", "replace")
        on_this_box = documented_by_man_page(text)
        assert len(on_this_box) > 60, "the man page's layout changed: fix the parser"
        assert not sorted(on_this_box - offered)
        for name, why in NOT_OFFERED.items():
            assert name in text and why, name  # documented, and the reason given


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            "target = generic\n",
            "target = everything\n",
            r"\[restriction permit\] target = "
            r"everything: not one of generic, ",
        ),
        ("risk = danger\n", "risk = scary\n", r"risk = scary: not one of info, caution, danger"),
        (
            "[list data]\nparameter",
            "[list data]\nparam",
            r"\[list data\]: missing parameter; "
            r"unknown key param",
        ),
        ("delayed = client\n", "delayed = client connect\n", r"unknown list connect"),
        (
            "outsider_permit = yes\n",
            "outsider_permit = true\n",
            r"outsider_permit = true: yes "
            r"or no",
        ),
        (
            "${text:permit_skips}",
            "${text:permits_skip}",
            r"\$\{text:permits_skip\} is not in "
            r"\[text\]",
        ),
        (
            "[restriction permit]",
            "[permission permit]",
            r"\[permission permit\]: unknown "
            r"section",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_the_place(tmp_path, old, new, says) -> None:
    broken = tmp_path / "catalogue.ini"
    text = DATA_FILE.read_text()
    assert old in text
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(CatalogueError, match=says):
        load(broken)


def test_the_module_is_the_file() -> None:
    """What pfwizard.catalogue exports is what the file says, read once."""
    again = load()
    assert again.restrictions == RESTRICTIONS and again.actions == catalogue.ACCESS_ACTIONS
    assert again.lists == catalogue.LISTS and again.list_params == catalogue.LIST_PARAMS
    from pfwizard import session
    from pfwizard.analysis import params
    from pfwizard.explain import box

    assert session.LIST_OF_PARAM == catalogue.PARAM_LISTS
    assert tuple(catalogue.LIST_PARAMS.values()) == box.LISTS
    assert set(catalogue.LIST_PARAMS.values()) <= set(params.defaults({}))


def test_loading_is_fast() -> None:
    """Read at every start (also by `pfwizard check`): a parser like configparser (12 ms)
    or a YAML library (100 ms and more) would be felt; this one takes about 2 ms."""
    best = min(_timed(load) for _ in range(5))
    assert best < 0.015, f"{best * 1000:.1f} ms"


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


@pytest.mark.slow
def test_an_installed_wheel_holds_the_catalogue(tmp_path) -> None:
    """A plain (non-editable) install finds the file: built into a wheel from a copy of the
    source, unpacked, and imported from there with nothing of the checkout on the path."""
    src = tmp_path / "src"
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(
            ".git", "tests", "build", "dist", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("pfwizard-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("pfwizard/knowledge/catalogue.ini") == DATA_FILE.read_bytes()
        zf.extractall(tmp_path / "site")
    res = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from pfwizard import catalogue; "
            "print(catalogue.DATA_FILE, len(catalogue.RESTRICTIONS))",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    path, count = res.stdout.split()
    assert Path(path).is_relative_to(tmp_path / "site") and int(count) == len(RESTRICTIONS)
