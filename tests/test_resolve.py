"""In-process resolver tests with a fake Sources: no network, no server, no subprocess.

Each test describes a small index as {project: [(version, requires_dist, options)]} and
resolves for an explicit target, so nothing depends on the host's Python or platform.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse.constraints import parse_constraints
from wheelhouse.errors import InputError
from wheelhouse.index import IndexFile, ProjectNotFound
from wheelhouse.resolve import Resolution, admitted_positions, resolve
from wheelhouse.target import make_target
from wheelhouse.wheelfile import Metadata

LINUX = "manylinux_2_28_x86_64"
PY311 = make_target("3.11", LINUX)
PLAT_WHEEL = "cp311-cp311-manylinux_2_17_x86_64"


class FakeSources:
    """The resolver's `Sources`, from {project: [(version, requires_dist[, options])]}.

    options: kind ("wheel"/"sdist"), tag (wheel tag, default py3-none-any), yanked,
    requires_python (in METADATA) and index_requires_python (the index's data-requires-python).
    """

    def __init__(self, projects: dict[str, list[tuple]]) -> None:
        self._files: dict[str, list[IndexFile]] = {}
        self._metadata: dict[str, Metadata] = {}
        self.looked_ahead: list[str] = []
        self.read_ahead_files: list[str] = []
        for project, releases in projects.items():
            name = canonicalize_name(project)
            for version, requires, *rest in releases:
                options = rest[0] if rest else {}
                kind = options.get("kind", "wheel")
                stem = f"{name.replace('-', '_')}-{version}"
                filename = (
                    f"{stem}-{options.get('tag', 'py3-none-any')}.whl"
                    if kind == "wheel"
                    else f"{stem}.tar.gz"
                )
                self._files.setdefault(name, []).append(
                    IndexFile(
                        filename=filename,
                        url=f"https://example.invalid/files/{filename}",
                        name=name,
                        version=Version(version),
                        kind=kind,
                        sha256="0" * 64,
                        requires_python_text=options.get("index_requires_python"),
                        yanked=options.get("yanked", False),
                        yanked_reason=None,
                        index="https://example.invalid/simple",
                    )
                )
                extras = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", " ".join(requires))
                self._metadata[filename] = Metadata(
                    name=name,
                    version=version,
                    requires_dist=tuple(requires),
                    requires_python=options.get("requires_python"),
                    provides_extra=tuple(dict.fromkeys(extras)),
                    license=None,
                )

    def files(self, name: str) -> list[IndexFile]:
        if name not in self._files:
            raise ProjectNotFound(name)
        return list(self._files[name])

    def metadata(self, file: IndexFile) -> Metadata:
        return self._metadata[file.filename]

    def look_ahead(self, requirements) -> None:
        self.looked_ahead.extend(r.identifier for r in requirements)

    def read_ahead(self, files) -> None:
        self.read_ahead_files.extend(f.filename for f in files)


def run(projects, specs, target=PY311, pins=None, allow_build=True, pre=False) -> Resolution:
    return resolve(specs, pins or {}, target, FakeSources(projects), allow_build=allow_build,
                   pre=pre)


def versions(resolution: Resolution) -> dict[str, str]:
    return {pin.name: str(pin.version) for pin in resolution.pins}


def failure(projects, specs, target=PY311, pins=None, allow_build=True) -> str:
    with pytest.raises(InputError) as caught:
        run(projects, specs, target, pins, allow_build)
    return str(caught.value)


def constraints(text: bytes):
    return {pin.name: pin for pin in parse_constraints(text, "c.txt")}


EXTRAS = {
    "alpha": [("1.0", ("beta>=1.0", "epsilon; extra == 'fast'"))],
    "beta": [("1.0", ())],
    "epsilon": [("1.0", ("zeta[extra1]",))],
    "zeta": [("1.0", ('eta; extra == "extra1"',))],
    "eta": [("1.0", ())],
}


def test_extras_and_extras_of_extras_are_followed():
    sources = FakeSources(EXTRAS)
    resolution = resolve(["alpha[fast]"], {}, PY311, sources)
    assert versions(resolution) == {
        "alpha": "1.0",
        "beta": "1.0",
        "epsilon": "1.0",
        "zeta": "1.0",
        "eta": "1.0",
    }
    by_name = {pin.name: pin for pin in resolution.pins}
    assert by_name["alpha"].extras == ("fast",)
    assert by_name["zeta"].extras == ("extra1",)
    assert by_name["eta"].extras == ()
    assert by_name["alpha"].required_by == ("alpha[fast]",)
    assert by_name["beta"].required_by == ("alpha",)
    assert by_name["epsilon"].required_by == ("alpha[fast]",)
    assert by_name["zeta"].required_by == ("epsilon",)
    assert by_name["eta"].required_by == ("zeta[extra1]",)
    assert by_name["eta"].file.filename == "eta-1.0-py3-none-any.whl"
    assert resolution.warnings == []
    assert {"alpha", "alpha[fast]", "zeta[extra1]", "eta"} <= set(sources.looked_ahead)


def test_without_the_extra_its_dependencies_stay_out():
    assert versions(run(EXTRAS, ["alpha"])) == {"alpha": "1.0", "beta": "1.0"}


MARKERS = {
    "alpha": [("1.0", ('gamma; python_version < "3.11"', 'delta; sys_platform == "win32"'))],
    "gamma": [("1.0", ())],
    "delta": [("1.0", ())],
}


def test_python_markers_are_evaluated_for_the_target_python():
    assert set(versions(run(MARKERS, ["alpha"], make_target("3.10")))) == {"alpha", "gamma"}
    assert set(versions(run(MARKERS, ["alpha"], make_target("3.11")))) == {"alpha"}


def test_platform_markers_are_evaluated_for_the_target_platform():
    windows = make_target("3.11", "win_amd64")
    assert set(versions(run(MARKERS, ["alpha"], windows))) == {"alpha", "delta"}
    assert set(versions(run(MARKERS, ["alpha"], PY311))) == {"alpha"}


def test_a_marker_on_a_requested_spec_is_held_on_the_target():
    specs = ["alpha", 'gamma; sys_platform == "win32"']
    assert set(versions(run(MARKERS, specs, PY311))) == {"alpha"}
    assert "gamma" in versions(run(MARKERS, specs, make_target("3.11", "win_amd64")))


BETA = {"beta": [("1.0", ()), ("1.5", ()), ("2.0rc1", ())]}


def test_a_constraints_pin_wins_over_the_newest_version():
    assert versions(run(BETA, ["beta"])) == {"beta": "1.5"}
    assert versions(run(BETA, ["beta"], pins=constraints(b"beta==1.0\n"))) == {"beta": "1.0"}


def test_pre_releases_only_when_a_specifier_asks_for_one():
    assert versions(run(BETA, ["beta"])) == {"beta": "1.5"}
    assert versions(run(BETA, ["beta>=2.0rc1"])) == {"beta": "2.0rc1"}
    assert versions(run(BETA, ["beta==2.0rc1"])) == {"beta": "2.0rc1"}


PRE_ONLY = {"otel": [("0.65b1", ()), ("0.66b2", ())], **BETA}


def test_pre_releases_when_nothing_final_satisfies_as_pep_440_says():
    # opentelemetry-instrumentation-requests has only pre-releases: pip and uv take 0.66b2.
    assert versions(run(PRE_ONLY, ["otel"])) == {"otel": "0.66b2"}
    assert versions(run(PRE_ONLY, ["otel<0.66"])) == {"otel": "0.65b1"}
    assert versions(run(BETA, ["beta>=1.9"])) == {"beta": "2.0rc1"}  # only 2.0rc1 satisfies
    assert versions(run(BETA, ["beta>=1.1"])) == {"beta": "1.5"}  # a final one satisfies


def test_pre_takes_pre_releases_like_any_release():
    assert versions(run(BETA, ["beta"], pre=True)) == {"beta": "2.0rc1"}


MODERN = {
    "modern": [("1.0", ()), ("2.0", (), {"requires_python": ">=3.12"})],
    "indexed": [("1.0", ()), ("2.0", (), {"index_requires_python": ">=3.12"})],
}


def test_requires_python_in_metadata_backtracks_to_an_older_version():
    assert versions(run(MODERN, ["modern"])) == {"modern": "1.0"}
    assert versions(run(MODERN, ["modern"], make_target("3.12", LINUX))) == {"modern": "2.0"}
    message = failure(MODERN, ["modern>=2"])
    assert "modern requires Python >=3.12, but the target is 3.11.0" in message


def test_requires_python_on_the_index_excludes_a_file():
    assert versions(run(MODERN, ["indexed"])) == {"indexed": "1.0"}
    assert versions(run(MODERN, ["indexed"], make_target("3.12", LINUX))) == {"indexed": "2.0"}
    message = failure(MODERN, ["indexed>=2"])
    assert "indexed==2.0: it requires Python >=3.12, not 3.11.0" in message


YANKED = {"yanky": [("1.0", ()), ("2.0", (), {"yanked": True})]}


def test_yanked_files_are_skipped_unless_pinned_exactly():
    assert versions(run(YANKED, ["yanky"])) == {"yanky": "1.0"}
    assert versions(run(YANKED, ["yanky==2.0"])) == {"yanky": "2.0"}
    assert versions(run(YANKED, ["yanky"], pins=constraints(b"yanky==2.0\n"))) == {"yanky": "2.0"}
    message = failure(YANKED, ["yanky>=2"])
    assert "yanky==2.0: every file of it is yanked (pin it exactly to accept that)" in message


PLATFORM = {"plat": [("1.0", (), {"tag": PLAT_WHEEL})]}


def test_a_platform_wheel_is_chosen_for_a_matching_target_only():
    resolution = run(PLATFORM, ["plat"], make_target("3.11", LINUX))
    assert resolution.pins[0].file.filename == f"plat-1.0-{PLAT_WHEEL}.whl"
    message = failure(PLATFORM, ["plat"], make_target("3.11", "win_amd64"))
    assert message == (
        f"1 package(s) cannot be served for cp311-win_amd64: plat==1.0: no wheel "
        f"fits cp311-win_amd64 (it has plat-1.0-{PLAT_WHEEL}.whl)."
    )
    assert "no wheel fits cp312" in failure(PLATFORM, ["plat"], make_target("3.12", LINUX))


def test_every_unservable_project_is_named_in_one_error():
    projects = {**PLATFORM, **YANKED, "app": [("1.0", ("plat", "yanky>=2", "nosuch"))]}
    message = failure(projects, ["app"], make_target("3.11", "win_amd64"))
    assert message.startswith("3 package(s) cannot be served for cp311-win_amd64: ")
    assert "nosuch is not on any index" in message
    assert "plat==1.0: no wheel fits cp311-win_amd64" in message
    assert "yanky==2.0: every file of it is yanked" in message


def test_a_conflict_names_the_project_the_specifiers_who_asked_and_the_constraint_line():
    projects = {"app": [("1.0", ("beta>=1.5",))], **BETA}
    pins = constraints(b"# pins\nbeta==1.0\n")
    message = failure(projects, ["app", "beta<2"], pins=pins)
    assert message.startswith(f"cannot resolve for {PY311.name}: no version of beta satisfies ")
    assert "beta<2 (from the command line)" in message
    assert "beta>=1.5 (from app)" in message
    assert "the constraint beta==1.0 (line 2)" in message
    assert "(the index has 2.0rc1, 1.5, 1.0)" in message


def test_a_project_on_no_index_is_named():
    message = failure({"app": [("1.0", ("nosuch>=1",))]}, ["app"])
    assert message == f"1 package(s) cannot be served for {PY311.name}: nosuch is not on any index."
    assert "ghost is not on any index" in failure({}, ["ghost"])


SDIST = {"buildme": [("1.0", ("beta",), {"kind": "sdist"})], **BETA}


def test_an_sdist_only_project_is_built_unless_building_is_forbidden():
    resolution = run(SDIST, ["buildme"])
    assert versions(resolution) == {"buildme": "1.0", "beta": "1.5"}
    built = next(pin.file for pin in resolution.pins if pin.name == "buildme")
    assert (built.kind, built.filename) == ("sdist", "buildme-1.0.tar.gz")
    message = failure(SDIST, ["buildme"], allow_build=False)
    assert "buildme==1.0: no wheel fits" in message
    assert "there is only an sdist, and --no-build forbids building it" in message


# dbt-core's shape: the newest app needs parser>=2.0b1, whose releases are sdists only; an
# older app accepts a parser pre-release that has a wheel.
PARSER = {
    "app": [("1.12.0", ("parser>=2.0.0a4,<3",)), ("1.12.6", ("parser>=2.0.0b1,<3",))],
    "parser": [("2.0.0a4", ()), ("2.0.0b1", (), {"kind": "sdist"}),
               ("2.0.8", (), {"kind": "sdist"})],
}


def test_a_version_with_no_file_for_the_target_is_passed_over_for_an_older_parent():
    resolution = run(PARSER, ["app"], allow_build=False)
    assert versions(resolution) == {"app": "1.12.0", "parser": "2.0.0a4"}
    assert versions(run(PARSER, ["app"])) == {"app": "1.12.6", "parser": "2.0.8"}  # it builds


def test_walking_back_through_a_projects_versions_reads_the_next_ones_ahead():
    """Once the newest candidate is passed over, the next READ_AHEAD versions' METADATA is
    asked for at once (in parallel, by the real sources), not one round trip at a time; a
    resolution that takes the newest reads nothing ahead."""
    from wheelhouse.resolve import READ_AHEAD

    newest, pinned = 2 * READ_AHEAD + 16, READ_AHEAD + 8
    walk = {"app": [(f"1.{n}", [f"dep=={n}"]) for n in range(newest + 1)],
            "dep": [(str(n), []) for n in range(newest + 1)]}
    sources = FakeSources(walk)
    resolution = resolve(["app"], constraints(f"dep=={pinned}\n".encode()), PY311, sources,
                         allow_build=True, pre=False)
    assert versions(resolution) == {"app": f"1.{pinned}", "dep": str(pinned)}
    ahead = {Version(f.split("-")[1]) for f in sources.read_ahead_files}
    assert {Version(f"1.{n}") for n in range(pinned + 1, newest - 1)} <= ahead  # the walk
    assert min(ahead) == Version(f"1.{pinned - READ_AHEAD}")  # and no further
    assert not {Version(f"1.{newest}"), Version(f"1.{newest - 1}")} & ahead  # read when asked

    taken = FakeSources(walk)
    resolve(["app"], {}, PY311, taken, allow_build=True, pre=False)
    assert taken.read_ahead_files == []


def test_only_when_no_version_serves_is_the_package_named():
    message = failure(PARSER, ["app==1.12.6"], allow_build=False)
    assert message.startswith("1 package(s) cannot be served for ")
    assert "parser==2.0.8: no wheel fits" in message
    assert "--no-build forbids building it" in message


# cryptography's shape: 44 says !=3.9.0,!=3.9.1, so --python 3.9 (3.9.0) gets 43.
PATCHY = {
    "crypto": [("43.0.3", ()),
               ("44.0.1", (), {"index_requires_python": "!=3.9.0,!=3.9.1,>=3.7"})],
    "meta": [("1.0", ()), ("2.0", (), {"requires_python": ">=3.9.3"})],
    "newer": [("1.0", ()), ("2.0", (), {"index_requires_python": ">=3.10"})],
}


def test_a_release_excluded_only_by_the_targets_patch_level_is_said():
    resolution = run(PATCHY, ["crypto", "meta", "newer"], make_target("3.9", LINUX))
    assert versions(resolution) == {"crypto": "43.0.3", "meta": "1.0", "newer": "1.0"}
    assert resolution.warnings == [
        "crypto 43.0.3 was chosen, not 44.0.1: that requires Python !=3.9.0,!=3.9.1,>=3.7, "
        "which excludes --python 3.9 only because 3.9 means 3.9.0; name the target's patch "
        "level (--python 3.9.2 or later) to allow it.",
        "meta 1.0 was chosen, not 2.0: that requires Python >=3.9.3, which excludes --python "
        "3.9 only because 3.9 means 3.9.0; name the target's patch level (--python 3.9.3 or "
        "later) to allow it.",
    ]  # newer 2.0 needs another minor version: not a patch-level surprise, not said
    resolution = run(PATCHY, ["crypto", "meta"], make_target("3.9.18", LINUX))
    assert versions(resolution) == {"crypto": "44.0.1", "meta": "2.0"}
    assert resolution.warnings == []
    assert run(PATCHY, ["crypto"], make_target("3.9.0", LINUX)).warnings == []  # as named


def test_an_invalid_requires_dist_line_is_a_warning():
    projects = {"sloppy": [("1.0", ("beta>=1.0", "not a requirement!!"))], **BETA}
    resolution = run(projects, ["sloppy"])
    assert versions(resolution) == {"sloppy": "1.0", "beta": "1.5"}
    assert resolution.warnings == [
        "sloppy==1.0 declares an invalid requirement 'not a requirement!!'; ignored."
    ]


def test_warnings_about_versions_the_resolver_abandoned_are_not_reported():
    # app 2.0 is tried first (its sloppy line noted), then abandoned: beta>=9 cannot be had.
    projects = {"app": [("1.0", ("beta",)), ("2.0", ("beta>=9", "not a requirement!!"))],
                **BETA}
    resolution = run(projects, ["app"])
    assert versions(resolution) == {"app": "1.0", "beta": "1.5"}
    assert resolution.warnings == []


def test_bad_requests_and_markers_that_exclude_everything_are_input_errors():
    with pytest.raises(InputError, match="is not a valid requirement"):
        run(BETA, ["beta>>1"])
    with pytest.raises(InputError, match="direct URL requirements are not supported"):
        run(BETA, ["beta @ https://example.invalid/beta-1.0.tar.gz"])
    with pytest.raises(InputError, match=f"no requirement applies to {PY311.name}"):
        run(BETA, ['beta; sys_platform == "win32"'])


VERSION_TEXTS = st.builds(
    "{}{}.{}{}{}{}{}".format,
    st.sampled_from(["", "", "1!"]), st.integers(0, 3), st.integers(0, 3),
    st.sampled_from(["", "", ".0", ".1"]), st.sampled_from(["", "", "a1", "b2", "rc1"]),
    st.sampled_from(["", "", ".post1", ".post2"]), st.sampled_from(["", "", ".dev0", "+local"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(VERSION_TEXTS, min_size=1, max_size=40), VERSION_TEXTS,
       st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~="]))
def test_the_versions_a_specifier_admits_are_those_contains_admits(texts, bound, operator):
    """Bisection finds an ordered comparison's edge: the same positions as checking each
    version, across pre-, post-, dev-releases, epochs and local versions."""
    newest_first = sorted({Version(t) for t in texts}, reverse=True)
    try:
        specifier = Specifier(f"{operator}{bound}")
    except InvalidSpecifier:  # ~= needs two release parts, local versions only with ==/!=
        return
    expected = {i for i, v in enumerate(newest_first) if specifier.contains(v, prereleases=True)}
    assert admitted_positions(newest_first, specifier) == expected
