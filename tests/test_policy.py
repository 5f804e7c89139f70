"""The --policy file: how it is read (anything malformed is one InputError naming the key)
and how each rule judges a file, erring towards a violation whenever it cannot check."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wheelhouse.errors import InputError
from wheelhouse.policy import (
    POLICY_KEYS_HELP,
    Policy,
    Subject,
    Violation,
    load_policy,
)

EXAMPLES = int(os.environ.get("WHEELHOUSE_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

NOW = datetime(2025, 1, 31, 12, 0, 0, tzinfo=timezone.utc)
PYPI = "https://pypi.org/simple"
NEXUS = "https://nexus.example/simple"

FULL = """\
deny = ["pyyaml<6", "telnetlib3"]
yanked = "forbid"
min_age_days = 7
max_age_days = 1095

[licenses]
allow = ["MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "ISC", "PSF-2.0"]
unknown = "deny"

[sdists]
build = "forbid"
allow = ["python-nvd3"]

[indexes]
"my-internal-lib" = "https://nexus.example/simple"
"""


def subject(name: str = "demo", version: str = "1.0", **changes: object) -> Subject:
    """A file that breaks no rule of FULL unless told to."""
    base = Subject(filename=f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
                   name=name, version=version, kind="wheel", license_spdx="MIT",
                   yanked=False, upload_time="2024-05-29T15:37:49.123Z", index=PYPI)
    return replace(base, **changes)  # type: ignore[arg-type]


def write(tmp_path: Path, text: str | bytes, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def policy(tmp_path: Path, text: str) -> Policy:
    return load_policy(write(tmp_path, text))


def rules(found: list[Violation]) -> list[str]:
    return [violation.rule for violation in found]


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- loading --------------------------------------------------------------------------------


def test_full_example_loads_and_passes_a_clean_file(tmp_path: Path) -> None:
    loaded = policy(tmp_path, FULL)
    assert loaded.source == str(tmp_path / "policy.toml")
    assert loaded.evaluate([subject()], NOW) == []
    assert loaded.min_age_days == 7 and loaded.max_age_days == 1095
    assert loaded.sdist_allow == frozenset({"python-nvd3"})
    assert loaded.indexes == (("my-internal-lib", NEXUS),)


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace("\n", "\r\n"))
    assert load_policy(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_empty_policy_has_no_rules(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "")
    assert loaded.describe() == []
    odd = subject(kind="sdist", yanked=True, license_spdx=None, upload_time=None, index=None)
    assert loaded.evaluate([odd], NOW) == []


@pytest.mark.parametrize(("text", "key"), [
    ("denny = []\n", "denny"),
    ("deny = []\nmin_age = 3\n", "min_age"),
    ("[licenses]\nallowed = ['MIT']\n", "licenses.allowed"),
    ("[sdists]\nbuilds = 'forbid'\n", "sdists.builds"),
    ("[index]\nfoo = 'https://x.example/simple'\n", "index"),
    ('"deny\\nx" = 1\n', r'"deny\\nx"'),
])
def test_unknown_keys_are_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(InputError, match=rf"unknown key {key} ") as caught:
        policy(tmp_path, text)
    assert "policy.toml" in str(caught.value)


@pytest.mark.parametrize(("text", "key"), [
    ('min_age_days = "7"\n', "min_age_days"),
    ("min_age_days = -1\n", "min_age_days"),
    ("min_age_days = 1.5\n", "min_age_days"),
    ("min_age_days = true\n", "min_age_days"),
    ("max_age_days = -30\n", "max_age_days"),
    ("min_age_days = 10\nmax_age_days = 5\n", "min_age_days"),
    ('deny = "pyyaml"\n', "deny"),
    ("deny = [1]\n", "deny"),
    ('yanked = "no"\n', "yanked"),
    ("yanked = true\n", "yanked"),
    ('licenses = "MIT"\n', "licenses"),
    ('[licenses]\nallow = "MIT"\n', "licenses.allow"),
    ("[licenses]\nallow = ['MIT', 3]\n", "licenses.allow"),
    ('[licenses]\nunknown = "maybe"\n', "licenses.unknown"),
    ('[sdists]\nbuild = "never"\n', "sdists.build"),
    ("[sdists]\nallow = [true]\n", "sdists.allow"),
    ('[sdists]\nallow = ["not a name"]\n', "sdists.allow"),
    ('indexes = ["https://x.example"]\n', "indexes"),
    ("[indexes]\nfoo = 1\n", "indexes.foo"),
    ('[indexes]\nfoo = "nexus.example/simple"\n', "indexes.foo"),
    ('[indexes]\nfoo = "ftp://nexus.example/simple"\n', "indexes.foo"),
    ('[indexes]\n"bad name!" = "https://nexus.example/simple"\n', "[indexes]"),
    ('[indexes]\nMy_Lib = "https://a.example/simple"\n"my-lib" = "https://b.example/s"\n',
     "[indexes]"),
])
def test_wrong_types_and_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(InputError) as caught:
        policy(tmp_path, text)
    message = str(caught.value)
    assert key in message and "policy.toml" in message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize("entry", ["pyyaml<<6", "pyyaml 6", "", "pyyaml==6;", "=="])
def test_bad_deny_specifier(tmp_path: Path, entry: str) -> None:
    with pytest.raises(InputError, match="deny entry") as caught:
        policy(tmp_path, f"deny = [{entry!r}]\n")
    assert entry in str(caught.value)


@pytest.mark.parametrize("entry", ['pyyaml; python_version < "3.12"', "pyyaml[extra]",
                                   "pyyaml @ https://example.org/pyyaml.whl"])
def test_markers_extras_and_urls_in_deny_are_refused(tmp_path: Path, entry: str) -> None:
    with pytest.raises(InputError, match="without markers, extras or URLs"):
        policy(tmp_path, f"deny = [{entry!r}]\n")


@pytest.mark.parametrize("entry", ["MIT-ish", "unknown", "MIT OR", "MIT WITH Nonsense",
                                   "(MIT", "DocumentRef-x:LicenseRef-y"])
def test_invalid_spdx_in_allow(tmp_path: Path, entry: str) -> None:
    with pytest.raises(InputError, match="licenses.allow entry") as caught:
        policy(tmp_path, f"[licenses]\nallow = [{entry!r}]\n")
    assert "not a valid SPDX" in str(caught.value)


def test_allow_entries_are_canonicalized(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "[licenses]\nallow = ['mit', 'apache-2.0 with llvm-exception']\n")
    assert loaded.license_allow == ("MIT", "Apache-2.0 WITH LLVM-exception")


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not valid TOML .*at line 3") as caught:
        policy(tmp_path, 'yanked = "forbid"\ndeny = [\n  "a" "b"\n]\n')
    assert "\n" not in str(caught.value)


def test_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        load_policy(write(tmp_path, b'yanked = "\xff"\n'))


def test_too_big(tmp_path: Path) -> None:
    padding = b"# " + b"x" * (1 << 20) + b"\n"
    with pytest.raises(InputError, match="larger than 1 MiB"):
        load_policy(write(tmp_path, padding + b'yanked = "forbid"\n'))
    # just under the limit is still a policy
    small = b"# " + b"x" * ((1 << 20) - 30) + b'\nyanked = "forbid"\n'
    assert len(small) <= 1 << 20
    assert load_policy(write(tmp_path, small, "small.toml")).yanked == "forbid"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read") as caught:
        load_policy(tmp_path / "absent.toml")
    assert "absent.toml" in str(caught.value)


def test_deeply_nested_toml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="policy.toml"):
        policy(tmp_path, "deny = " + "[" * 5000 + "]" * 5000 + "\n")


# --- deny -----------------------------------------------------------------------------------


def test_deny_with_specifier(tmp_path: Path) -> None:
    loaded = policy(tmp_path, 'deny = ["PyYAML<6"]\n')
    old = subject("pyyaml", "5.4.1")
    found = loaded.evaluate([old, subject("pyyaml", "6.0.1")], NOW)
    assert rules(found) == ["deny"]
    assert found[0].filename == old.filename and found[0].project == "pyyaml"
    assert old.filename in found[0].message and '"PyYAML<6"' in found[0].message
    assert "pyyaml 5.4.1 is denied" in found[0].message


def test_deny_specifier_includes_prereleases(tmp_path: Path) -> None:
    loaded = policy(tmp_path, 'deny = ["pyyaml<6"]\n')
    assert rules(loaded.evaluate([subject("pyyaml", "5.4b1")], NOW)) == ["deny"]
    assert rules(loaded.evaluate([subject("pyyaml", "5.4.dev0")], NOW)) == ["deny"]
    # PEP 440: "<6" never matches 6's own pre-releases
    assert loaded.evaluate([subject("pyyaml", "6.0b1"), subject("pyyaml", "6.0.1")], NOW) == []


def test_deny_without_specifier_denies_every_version(tmp_path: Path) -> None:
    loaded = policy(tmp_path, 'deny = ["Telnetlib3"]\n')
    found = loaded.evaluate([subject("telnetlib3", "2.0.4"), subject("telnetlib3", "junk"),
                             subject("telnetlib", "1.0")], NOW)
    assert [violation.project for violation in found] == ["telnetlib3", "telnetlib3"]


def test_deny_name_is_canonicalized_both_ways(tmp_path: Path) -> None:
    loaded = policy(tmp_path, 'deny = ["Zope.Interface"]\n')
    found = loaded.evaluate([subject("zope_interface", "6.0")], NOW)
    assert rules(found) == ["deny"] and found[0].project == "zope-interface"


def test_deny_version_that_cannot_be_compared_is_not_cleared(tmp_path: Path) -> None:
    loaded = policy(tmp_path, 'deny = ["pyyaml<6"]\n')
    found = loaded.evaluate([subject("pyyaml", "not-a-version")], NOW)
    assert rules(found) == ["deny"] and "cannot be compared" in found[0].message
    assert 'version "not-a-version" of pyyaml' in found[0].message
    assert loaded.evaluate([subject("other", "not-a-version")], NOW) == []


# --- licenses -------------------------------------------------------------------------------


def licensed(tmp_path: Path, allow: list[str], unknown: str | None = None) -> Policy:
    text = f"[licenses]\nallow = {allow!r}\n"
    if unknown is not None:
        text += f"unknown = {unknown!r}\n"
    return policy(tmp_path, text)


def passes(loaded: Policy, spdx: str | None) -> bool:
    return loaded.evaluate([subject(license_spdx=spdx)], NOW) == []


@pytest.mark.parametrize(("spdx", "allowed"), [
    ("MIT", True),
    ("GPL-3.0-only", False),
    ("mit", True),  # SPDX ids match case-insensitively
    ("MIT OR GPL-3.0-only", True),
    ("GPL-3.0-only OR MIT", True),
    ("GPL-3.0-only OR LGPL-3.0-only", False),
    ("MIT AND Apache-2.0", True),
    ("MIT AND GPL-3.0-only", False),
    ("MIT AND (GPL-3.0-only OR Apache-2.0)", True),
    ("(MIT AND GPL-3.0-only) OR Apache-2.0", True),
    ("MIT AND (GPL-3.0-only OR LGPL-3.0-only)", False),
    ("((MIT))", True),
    ("Apache-2.0 WITH LLVM-exception", True),  # X WITH E by X
    ("GPL-2.0-only WITH Classpath-exception-2.0", True),  # by the entry itself
    ("gpl-2.0-only with classpath-exception-2.0", True),
    ("GPL-2.0-only", False),  # the exception's entry does not allow the bare license
    ("GPL-2.0-only WITH GCC-exception-2.0", False),
    ("LicenseRef-Acme", True),
    ("licenseref-acme", True),
    ("LicenseRef-Other", False),
    ("GPL-3.0-only OR LGPL-2.1-only", True),  # an allow entry that is an expression
    ("LGPL-2.1-only OR GPL-3.0-only", True),  # ... in any order
    ("LGPL-2.1-only", False),
    ("MIT OR", False),  # unreadable: never allowed
    ("MIT AND AND ISC", False),
    ("(MIT", False),
    ("", False),
    ("MIT WITH", False),
    ("(MIT) WITH LLVM-exception", False),
    ("MIT ISC", False),
    ("MIT+", False),
])
def test_license_expressions(tmp_path: Path, spdx: str, allowed: bool) -> None:
    loaded = licensed(tmp_path, ["MIT", "apache-2.0", "ISC", "LicenseRef-acme",
                                 "GPL-2.0-only WITH Classpath-exception-2.0",
                                 "GPL-3.0-only OR LGPL-2.1-only"])
    found = loaded.evaluate([subject(license_spdx=spdx)], NOW)
    assert passes(loaded, spdx) is allowed
    if not allowed:
        assert rules(found) == ["licenses"]
        assert subject().filename in found[0].message


def test_unreadable_license_says_so(tmp_path: Path) -> None:
    found = licensed(tmp_path, ["MIT"]).evaluate([subject(license_spdx="MIT OR (")], NOW)
    assert "cannot be read" in found[0].message and '"MIT OR ("' in found[0].message


def test_deep_license_expression_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    deep = "(" * 1500 + "MIT" + ")" * 1500  # under the length limit, past the stack's
    assert not passes(licensed(tmp_path, ["MIT"]), deep)
    assert not passes(licensed(tmp_path, ["MIT"]), "(" * 3000 + "MIT" + ")" * 3000)
    assert passes(licensed(tmp_path, ["MIT"]), "(" * 20 + "MIT" + ")" * 20)


@pytest.mark.parametrize(("spdx", "allowed"), [
    ("MIT AND GPL-3.0-only", True),
    ("GPL-3.0-only AND MIT", True),
    ("(GPL-3.0-only AND MIT) AND ISC", True),  # the entry covers its part of a larger AND
    ("MIT AND (ISC AND GPL-3.0-only)", True),
    ("GPL-3.0-only AND ISC", False),  # the entry says nothing of GPL without MIT
    ("GPL-3.0-only AND MIT AND Zlib", False),
    ("LGPL-3.0-only OR (GPL-2.0-only OR LGPL-2.1-only)", True),  # OR is associative
    ("Zlib OR LGPL-3.0-only OR GPL-2.0-only OR LGPL-2.1-only", True),  # more choice
    ("GPL-2.0-only OR LGPL-2.1-only OR Zlib", False),  # fewer choices than the entry's
    ("GPL-2.0-only", False),
    ("(MIT AND GPL-3.0-only) OR Zlib", True),
    ("GPL-3.0-only OR MIT", False),  # an AND entry is no OR entry
    ("GPL-2.0-only AND LGPL-2.1-only AND LGPL-3.0-only", False),  # nor the other way round
])
def test_expression_entries_within_larger_expressions(tmp_path: Path, spdx: str,
                                                      allowed: bool) -> None:
    loaded = licensed(tmp_path, ["ISC", "MIT AND GPL-3.0-only",
                                 "GPL-2.0-only OR LGPL-2.1-only OR LGPL-3.0-only"])
    assert passes(loaded, spdx) is allowed


@pytest.mark.parametrize("spdx", ["unknown", None])
def test_unknown_license_denied_by_default_with_allow(tmp_path: Path, spdx: str | None) -> None:
    found = licensed(tmp_path, ["MIT"]).evaluate([subject(license_spdx=spdx)], NOW)
    assert rules(found) == ["licenses"] and "license is unknown" in found[0].message
    assert not passes(licensed(tmp_path, ["MIT"], "deny"), spdx)
    assert passes(licensed(tmp_path, ["MIT"], "allow"), spdx)


def test_unknown_deny_without_allow_requires_a_known_license(tmp_path: Path) -> None:
    loaded = policy(tmp_path, '[licenses]\nunknown = "deny"\n')
    assert passes(loaded, "GPL-3.0-only")
    assert not passes(loaded, "unknown") and not passes(loaded, None)
    assert not passes(loaded, "MIT OR")


def test_without_license_rules_anything_goes(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "")
    assert passes(loaded, "GPL-3.0-only") and passes(loaded, None) and passes(loaded, "((")


def test_an_empty_allow_list_allows_no_license(tmp_path: Path) -> None:
    loaded = licensed(tmp_path, [])
    assert not passes(loaded, "MIT") and not passes(loaded, None)
    assert passes(licensed(tmp_path, [], "allow"), None)


# --- sdists ---------------------------------------------------------------------------------


def test_sdists_forbid(tmp_path: Path) -> None:
    loaded = policy(tmp_path, '[sdists]\nbuild = "forbid"\nallow = ["Python_NVD3"]\n')
    built = subject("apache-beam", kind="built-wheel")
    shipped = subject("thrift", filename="thrift-0.16.0.tar.gz", kind="sdist")
    found = loaded.evaluate([built, shipped, subject("python-nvd3", kind="built-wheel"),
                             subject("python-nvd3", kind="sdist"), subject("wheel-only")],
                            NOW)
    assert [(v.rule, v.project) for v in found] == [("sdists", "apache-beam"),
                                                    ("sdists", "thrift")]
    assert "built here from an sdist" in found[0].message
    assert "thrift-0.16.0.tar.gz is an sdist" in found[1].message


def test_sdists_allowed_by_default(tmp_path: Path) -> None:
    for text in ("", '[sdists]\nbuild = "allow"\n'):
        loaded = policy(tmp_path, text)
        assert loaded.evaluate([subject(kind="built-wheel"), subject(kind="sdist")], NOW) == []


# --- yanked ---------------------------------------------------------------------------------


def test_yanked(tmp_path: Path) -> None:
    found = policy(tmp_path, 'yanked = "forbid"\n').evaluate(
        [subject("gone", yanked=True), subject("kept")], NOW)
    assert [(v.rule, v.project) for v in found] == [("yanked", "gone")]
    assert policy(tmp_path, 'yanked = "allow"\n').evaluate([subject(yanked=True)], NOW) == []


# --- ages -----------------------------------------------------------------------------------


def test_min_age_boundary(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "min_age_days = 7\n")
    assert loaded.evaluate([subject(upload_time=ago(days=7))], NOW) == []
    found = loaded.evaluate([subject(upload_time=ago(days=7, microseconds=-1))], NOW)
    assert rules(found) == ["min_age_days"]
    assert "6 days 23 hours before" in found[0].message and "min_age_days of 7" in found[0].message
    assert loaded.evaluate([subject(upload_time=ago(days=400))], NOW) == []


def test_max_age_boundary(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "max_age_days = 1095\n")
    assert loaded.evaluate([subject(upload_time=ago(days=1095))], NOW) == []
    found = loaded.evaluate([subject(upload_time=ago(days=1095, microseconds=1))], NOW)
    assert rules(found) == ["max_age_days"] and "max_age_days of 1095" in found[0].message
    assert loaded.evaluate([subject(upload_time=ago(hours=1))], NOW) == []
    # the earliest time there is still reads, and is far too old
    ancient = subject(upload_time="0001-01-01T00:00:00+01:00")
    assert rules(loaded.evaluate([ancient], NOW)) == ["max_age_days"]


def test_age_boundary_across_offsets(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "min_age_days = 1\n")
    # 2025-01-30T14:00:00+02:00 is exactly one day before NOW (12:00Z)
    assert loaded.evaluate([subject(upload_time="2025-01-30T14:00:00+02:00")], NOW) == []
    assert loaded.evaluate([subject(upload_time="2025-01-30T14:00:01+02:00")], NOW) != []
    assert loaded.evaluate([subject(upload_time="2025-01-30t07:00:00-05:00")], NOW) == []
    assert loaded.evaluate([subject(upload_time="2025-01-30 12:00:00z")], NOW) == []


def test_fractional_seconds_of_any_length(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "min_age_days = 1\n")
    for fraction in ("1", "123", "123456", "123456789"):
        late = subject(upload_time=f"2025-01-30T12:00:00.{fraction}Z")
        assert rules(loaded.evaluate([late], NOW)) == ["min_age_days"]
    assert loaded.evaluate([subject(upload_time="2025-01-30T12:00:00.000000000Z")], NOW) == []


def test_a_file_uploaded_after_the_reference_time(tmp_path: Path) -> None:
    found = policy(tmp_path, "min_age_days = 1\n").evaluate(
        [subject(upload_time="2025-02-02T12:00:00Z")], NOW)
    assert rules(found) == ["min_age_days"] and "2 days after" in found[0].message


@pytest.mark.parametrize("text", ["min_age_days = 7\n", "max_age_days = 30\n"])
def test_missing_upload_time_is_a_violation(tmp_path: Path, text: str) -> None:
    found = policy(tmp_path, text).evaluate([subject(upload_time=None)], NOW)
    assert len(found) == 1
    assert "has no upload time from its index" in found[0].message
    assert "cannot be checked" in found[0].message


def test_missing_upload_time_fails_each_age_rule(tmp_path: Path) -> None:
    found = policy(tmp_path, FULL).evaluate([subject(upload_time=None)], NOW)
    assert rules(found) == ["max_age_days", "min_age_days"]
    assert "7-day cooldown" in found[1].message


@pytest.mark.parametrize("when", ["2025-01-01", "2025-01-01T00:00:00", "yesterday",
                                  "2025-13-01T00:00:00Z", "2025-01-01T00:00:00+24:00",
                                  "2025-01-01T00:00:60Z", "2025-01-01T00:00:00+01:60",
                                  "２０２５-01-01T00:00:00Z"])
def test_unreadable_upload_time_is_a_violation(tmp_path: Path, when: str) -> None:
    found = policy(tmp_path, "min_age_days = 7\n").evaluate([subject(upload_time=when)], NOW)
    assert rules(found) == ["min_age_days"]
    assert "not an RFC 3339 time" in found[0].message


def test_zero_min_age_is_no_cooldown(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "min_age_days = 0\n")
    assert loaded.evaluate([subject(upload_time=None)], NOW) == []
    assert loaded.describe() == []


def test_naive_reference_time_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        policy(tmp_path, FULL).evaluate([subject()], datetime(2025, 1, 1))


# --- indexes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "ok"), [
    (NEXUS, True),
    (NEXUS + "/", True),
    (NEXUS + "//", True),
    ("HTTPS://Nexus.Example/simple/", True),
    ("https://nexus.example:443/simple", True),
    ("https://user:secret@nexus.example/simple/", True),
    ("https://nexus.example/Simple", False),  # the path is exact
    ("https://nexus.example/simple/internal", False),
    ("http://nexus.example/simple", False),
    ("https://nexus.example:8443/simple", False),
    ("https://nexus.example.evil/simple", False),
    (PYPI, False),
    ("not a url", False),
    ("https://[::1/simple", False),
])
def test_index_url_normalization(tmp_path: Path, index: str, ok: bool) -> None:
    loaded = policy(tmp_path, '[indexes]\n"My_Internal.Lib" = "https://nexus.example/simple/"\n')
    found = loaded.evaluate([subject("my-internal-lib", index=index)], NOW)
    assert (found == []) is ok
    if not ok:
        assert rules(found) == ["indexes"] and found[0].project == "my-internal-lib"


def test_index_message(tmp_path: Path) -> None:
    loaded = policy(tmp_path, FULL)
    found = loaded.evaluate([subject("my-internal-lib"), subject("requests")], NOW)
    assert [v.project for v in found] == ["my-internal-lib"]
    assert found[0].message == (
        f"{subject('my-internal-lib').filename} came from https://pypi.org/simple, but the "
        "policy says my-internal-lib comes only from https://nexus.example/simple: a public "
        "package with an internal name.")


def test_index_message_hides_credentials(tmp_path: Path) -> None:
    loaded = policy(tmp_path, FULL)
    found = loaded.evaluate([subject("my-internal-lib", index="https://u:tok@evil.example/s")],
                            NOW)
    assert "tok" not in found[0].message and "evil.example/s" in found[0].message


def test_find_links_file_of_a_pinned_project(tmp_path: Path) -> None:
    found = policy(tmp_path, FULL).evaluate([subject("my-internal-lib", index=None),
                                            subject("other", index=None)], NOW)
    assert [v.project for v in found] == ["my-internal-lib"]
    assert "--find-links" in found[0].message


# --- everything together --------------------------------------------------------------------


def test_violations_sorted_by_rule_project_filename(tmp_path: Path) -> None:
    loaded = policy(tmp_path, FULL)
    bad = [subject("zeta", yanked=True, license_spdx="GPL-3.0-only"),
           subject("alpha", yanked=True, upload_time=None),
           subject("my-internal-lib", kind="sdist", filename="my_internal_lib-1.0.tar.gz"),
           subject("pyyaml", "5.1"), subject("alpha", "2.0", yanked=True)]
    found = loaded.evaluate(bad, NOW)
    keys = [(v.rule, v.project, v.filename) for v in found]
    assert keys == sorted(keys)
    assert set(rules(found)) == {"deny", "licenses", "sdists", "yanked", "min_age_days",
                                 "max_age_days", "indexes"}
    assert found == loaded.evaluate(list(reversed(bad)), NOW)  # pure and order-free


def test_violation_to_json(tmp_path: Path) -> None:
    found = policy(tmp_path, 'yanked = "forbid"\n').evaluate([subject(yanked=True)], NOW)
    assert found[0].to_json() == {"rule": "yanked", "project": "demo",
                                  "filename": "demo-1.0-py3-none-any.whl",
                                  "message": found[0].message}


def test_describe_lists_rules_in_force(tmp_path: Path) -> None:
    lines = policy(tmp_path, FULL).describe()
    assert [line.split(":")[0] for line in lines] == [
        "deny", "licenses", "sdists", "yanked", "min_age_days", "max_age_days", "indexes"]
    assert lines[0] == "deny: pyyaml<6, telnetlib3"
    assert "MIT, Apache-2.0" in lines[1] and "unknown licenses denied" in lines[1]
    assert "except for python-nvd3" in lines[2]
    assert "7 days" in lines[4] and "1095 days" in lines[5]
    assert lines[6] == "indexes: my-internal-lib only from https://nexus.example/simple"
    only = policy(tmp_path, '[licenses]\nallow = ["MIT"]\nunknown = "allow"\n').describe()
    assert only == ["licenses: allow MIT; unknown licenses allowed"]


def test_help_names_every_key() -> None:
    for key in ("deny", "yanked", "min_age_days", "max_age_days", "[licenses] allow",
                "[licenses] unknown", "[sdists] build", "[sdists] allow", "[indexes]",
                '"forbid"|"allow"', '"deny"|"allow"'):
        assert key in POLICY_KEYS_HELP
    assert all(len(line) <= 88 for line in POLICY_KEYS_HELP.splitlines())


# --- never raises ---------------------------------------------------------------------------

_text = st.text(max_size=60)
_spdx_words = st.lists(st.sampled_from(["MIT", "mit", "AND", "or", "WITH", "(", ")", "ISC",
                                        "LLVM-exception", "Apache-2.0", "LicenseRef-x", "+",
                                        "GPL-2.0+", ":", "DocumentRef-a:LicenseRef-b"]),
                       max_size=12).map(" ".join)
_subjects = st.builds(
    Subject, filename=_text, name=_text, version=_text,
    kind=st.sampled_from(["wheel", "sdist", "built-wheel"]) | _text,
    license_spdx=st.none() | _text | _spdx_words, yanked=st.booleans(),
    upload_time=st.none() | _text | st.datetimes(timezones=st.timezones()).map(
        lambda moment: moment.isoformat()),
    index=st.none() | _text | st.sampled_from([NEXUS, NEXUS + "/", "https://[", "http://:x"]))


@fuzz
@given(subjects=st.lists(_subjects, max_size=5),
       now=st.datetimes(timezones=st.just(timezone.utc)))
def test_evaluate_never_raises(tmp_path: Path, subjects: list[Subject], now: datetime) -> None:
    loaded = load_policy(write(tmp_path, FULL))
    found = loaded.evaluate(subjects, now)
    assert all(isinstance(violation, Violation) and violation.message for violation in found)
    assert found == sorted(found, key=lambda v: (v.rule, v.project, v.filename, v.message))
    # whatever cannot be checked fails: no upload time means both age rules are broken
    for item in subjects:
        if item.upload_time is None:
            assert {"min_age_days", "max_age_days"} <= {
                v.rule for v in found if v.filename == item.filename}
