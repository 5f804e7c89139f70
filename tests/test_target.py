"""The target's tags and markers, without a network."""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from wheelhouse.errors import InputError
from wheelhouse.target import expand_platform, make_target, parse_python


def test_manylinux_tag_admits_older_manylinux_tags_newest_first():
    platforms = expand_platform("manylinux_2_28_x86_64")
    assert platforms[0] == "manylinux_2_28_x86_64"
    assert platforms.index("manylinux_2_27_x86_64") < platforms.index("manylinux2014_x86_64")
    assert "manylinux_2_17_x86_64" in platforms and "manylinux1_x86_64" in platforms
    assert "manylinux_2_29_x86_64" not in platforms


def test_aarch64_stops_at_manylinux2014_and_docker_platforms_mean_bookworm():
    platforms = expand_platform("linux/arm64")
    assert platforms[0] == "manylinux_2_36_aarch64"
    assert "manylinux2014_aarch64" in platforms
    assert "manylinux_2_16_aarch64" not in platforms


def test_other_families():
    assert expand_platform("win_amd64") == ("win_amd64",)
    assert expand_platform("musllinux_1_2_x86_64")[:3] == (
        "musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64")
    assert "macosx_10_9_x86_64" in expand_platform("macosx_11_0_x86_64")
    with pytest.raises(InputError, match="linux/amd64"):
        expand_platform("linux/sparc")


def test_python_versions():
    assert parse_python("3.11") == ((3, 11), "3.11.0")
    assert parse_python("3.12.4") == ((3, 12), "3.12.4")
    # as pip's --python-version takes them
    assert parse_python("311") == parse_python("cp311") == parse_python("3.11")
    assert parse_python("39") == ((3, 9), "3.9.0")
    for bad in ("3", "eleven", "2.7", "3.11.0rc1", "cp3", "27", "cp3111"):
        with pytest.raises(InputError):
            parse_python(bad)


def test_cross_target_tags_and_markers():
    target = make_target("3.12", "manylinux_2_28_x86_64")
    assert target.name == "cp312-manylinux_2_28_x86_64"
    assert target.tags[0] == Tag("cp312", "cp312", "manylinux_2_28_x86_64")
    assert target.rank(frozenset({Tag("cp312", "abi3", "manylinux2014_x86_64")})) is not None
    assert target.rank(frozenset({Tag("cp311", "cp311", "manylinux2014_x86_64")})) is None
    assert target.rank(frozenset({Tag("py3", "none", "any")})) is not None
    env = target.environment()
    assert env["python_version"] == "3.12" and env["python_full_version"] == "3.12.0"
    assert env["sys_platform"] == "linux" and env["platform_machine"] == "x86_64"
    windows = make_target("3.10", "win_amd64").environment("socks")
    assert windows["sys_platform"] == "win32" and windows["platform_machine"] == "AMD64"
    assert windows["os_name"] == "nt" and windows["extra"] == "socks"


def test_more_specific_tags_rank_better():
    target = make_target("3.11", "manylinux_2_28_x86_64")
    specific = target.rank(frozenset({Tag("cp311", "cp311", "manylinux_2_28_x86_64")}))
    older = target.rank(frozenset({Tag("cp311", "cp311", "manylinux2014_x86_64")}))
    pure = target.rank(frozenset({Tag("py3", "none", "any")}))
    assert specific < older < pure


def test_two_pythons_of_one_minor_version_are_refused_not_merged():
    from wheelhouse.target import make_targets

    with pytest.raises(InputError, match=r"--python 3\.11 and --python 3\.11\.4 are both "
                                         r"cp311-manylinux_2_36_x86_64 .*3\.11\.0 and 3\.11\.4"):
        make_targets(["3.11", "3.11.4"], ["linux/amd64"])
    # the same target named twice is one target, not an error
    assert len(make_targets(["3.11", "3.11.0"], ["linux/amd64"])) == 1
    # the full version is part of a target's identity
    assert make_target("3.11") != make_target("3.11.4")
