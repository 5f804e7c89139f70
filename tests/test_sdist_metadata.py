"""An sdist's dependencies without building it: what it states reliably (PEP 643's PKG-INFO,
PEP 621's [project]), else its backend's metadata hook (cached); and, before any build,
what in it says its wheel would be platform-specific."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from builders import make_sdist, sha256
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

from wheelhouse import sdist as sdist_module
from wheelhouse.build import metadata_from_hook
from wheelhouse.errors import InputError
from wheelhouse.sdist import build_system, native_evidence, static_metadata
from wheelhouse.wheelfile import Metadata

PROJECT = '''
[project]
name = "proj"
version = "1.0"
requires-python = ">=3.9"
license = "Apache-2.0"
dependencies = ["beta>=1.0", 'gamma; python_version < "3.11"']

[project.optional-dependencies]
Fast = ["epsilon"]
win = ['delta[x]>=2; sys_platform == "win32" or os_name == "nt"']
'''


# --- static_metadata ---------------------------------------------------------------------

def test_pkg_info_2_2_with_nothing_dynamic_is_the_metadata(tmp_path):
    path = make_sdist(tmp_path, "stated", "1.0", metadata_version="2.2",
                      requires=("beta>=1.0",), extras={"fast": ("epsilon",)},
                      requires_python=">=3.8", dynamic=("Summary",))
    assert static_metadata(path) == Metadata(
        name="stated", version="1.0", requires_dist=("beta>=1.0", 'epsilon; extra == "fast"'),
        requires_python=">=3.8", provides_extra=("fast",), license="MIT", license_text="MIT")


@pytest.mark.parametrize("field", ["Requires-Dist", "requires-python", "Provides-Extra"])
def test_a_dynamic_field_a_resolver_needs_makes_pkg_info_unreliable(tmp_path, field):
    path = make_sdist(tmp_path, "proj", "1.0", metadata_version="2.2", dynamic=(field,),
                      requires=("from-pkg-info",))
    assert static_metadata(path) is None


def test_dynamic_pkg_info_falls_to_a_static_project_table(tmp_path):
    path = make_sdist(tmp_path, "proj", "1.0", metadata_version="2.2",
                      dynamic=("Requires-Dist",), requires=("from-pkg-info",), project=PROJECT)
    found = static_metadata(path)
    assert found is not None and "from-pkg-info" not in found.requires_dist
    assert found.requires_dist[0] == "beta>=1.0"


def test_pkg_info_before_2_2_is_not_trusted(tmp_path):
    assert static_metadata(make_sdist(tmp_path, "old", "1.0", requires=("beta",))) is None


def test_a_static_project_table_gives_requirements_as_metadata_says_them(tmp_path):
    path = make_sdist(tmp_path, "proj", "1.0", requires=("from-pkg-info",), project=PROJECT)
    found = static_metadata(path)  # PKG-INFO is 2.1: [project] says it
    assert found == Metadata(
        name="proj", version="1.0",
        requires_dist=("beta>=1.0", 'gamma; python_version < "3.11"',
                       'epsilon; extra == "fast"',
                       'delta[x]>=2; (sys_platform == "win32" or os_name == "nt") and '
                       'extra == "win"'),
        requires_python=">=3.9", provides_extra=("fast", "win"), license="Apache-2.0")
    # the parentheses keep `or` inside the extra: delta is needed for [win] alone
    delta = Requirement(found.requires_dist[-1])
    assert delta.marker is not None
    nt = {"sys_platform": "linux", "os_name": "nt"}
    assert delta.marker.evaluate({**nt, "extra": "win"})
    assert not delta.marker.evaluate({**nt, "extra": ""})


@pytest.mark.parametrize("table, license", [
    ('license = {text = "BSD"}', "BSD"),
    ('license = {file = "LICENSE"}\nclassifiers = ["License :: OSI Approved :: MIT License"]',
     "MIT License"),
    ('license = {text = "a long license\\nof many lines"}', None),
])
def test_the_license_of_a_project_table(tmp_path, table, license):
    project = f'[project]\nname = "proj"\nversion = "1.0"\n{table}\n'
    found = static_metadata(make_sdist(tmp_path, "proj", "1.0", project=project))
    assert found is not None and found.license == license and found.requires_dist == ()


@pytest.mark.parametrize("project", [
    '[project]\nname = "proj"\nversion = "1.0"\ndynamic = ["dependencies"]\n',
    '[project]\nname = "proj"\nversion = "1.0"\ndynamic = ["optional-dependencies"]\n',
    '[project]\nname = "proj"\nversion = "1.0"\ndynamic = ["requires-python"]\n',
    '[project]\nname = "proj"\ndynamic = ["version"]\n',
    '[project]\nname = "proj"\nversion = "1.0"\ndependencies = ["not a requirement!"]\n',
    '[project]\nname = "proj"\nversion = "1.0"\ndependencies = "beta"\n',
    '[project]\nname = "proj"\nversion = "1.0"\n[project.optional-dependencies]\n'
    '\'a"b\' = ["beta"]\n',
    # Poetry 1 ignores [project]; its dependencies are in [tool.poetry]
    '[project]\nname = "proj"\nversion = "1.0"\n[tool.poetry.dependencies]\nbeta = "*"\n',
    '[project\n',
])
def test_a_project_table_that_is_not_static_or_not_sound_says_nothing(tmp_path, project):
    assert static_metadata(make_sdist(tmp_path, "proj", "1.0", project=project)) is None


@pytest.mark.parametrize("filename", ["stated-2.0.tar.gz", "other-1.0.tar.gz"])
def test_metadata_of_another_project_or_version_than_the_filename_is_none(tmp_path,
                                                                          filename):
    path = make_sdist(tmp_path, "stated", "1.0", metadata_version="2.2")
    assert static_metadata(path.rename(tmp_path / filename)) is None
    project = make_sdist(tmp_path, "proj", "1.0", project=PROJECT)
    assert static_metadata(project.rename(tmp_path / filename)) is None


def test_names_and_versions_are_compared_normalized(tmp_path):
    path = make_sdist(tmp_path, "Stated.Name", "1.0.0", metadata_version="2.2")
    found = static_metadata(path.rename(tmp_path / "stated_name-1.0.tar.gz"))
    assert found is not None and found.name == "Stated.Name"


def test_a_zip_sdist(tmp_path):
    path = make_sdist(tmp_path, "zipped", "1.0", metadata_version="2.2", requires=("beta",),
                      archive="zip", extra_files={"zipped/_speedups.c": b"int x;"})
    assert path.name == "zipped-1.0.zip"
    found = static_metadata(path)
    assert found is not None and found.requires_dist == ("beta",)
    assert native_evidence(path) == "it holds C/C++ sources (zipped/_speedups.c)"
    assert build_system(path)[1] == "wh_test_backend"


def test_a_pkg_info_over_the_limit_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(sdist_module, "MEMBER_LIMIT", 100)
    path = make_sdist(tmp_path, "stated", "1.0", metadata_version="2.2",
                      requires=tuple(f"dependency{i}" for i in range(10)))
    assert static_metadata(path) is None


@pytest.mark.parametrize("damage", [b"", b"not an archive at all", "truncated"])
def test_an_unreadable_archive_is_an_input_error(tmp_path, damage):
    path = make_sdist(tmp_path, "stated", "1.0", metadata_version="2.2")
    path.write_bytes(path.read_bytes()[:30] if damage == "truncated" else damage)
    for read in (static_metadata, native_evidence, build_system):
        with pytest.raises(InputError, match="stated-1.0.tar.gz is not a readable sdist"):
            read(path)


def test_an_archive_damaged_past_its_metadata(tmp_path):
    """PKG-INFO and pyproject.toml come first and are read; the listing meets the damage."""
    path = make_sdist(tmp_path, "stated", "1.0", metadata_version="2.2",
                      extra_files={f"stated/m{i}.py": os.urandom(4096) for i in range(8)})
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    assert static_metadata(path) is not None
    with pytest.raises(InputError, match="stated-1.0.tar.gz is not a readable sdist"):
        native_evidence(path)


def test_a_header_claiming_gigabytes_is_refused_unread(tmp_path):
    """tarfile reads a pax header whole: one claiming 4 GiB is refused, not read."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 4 << 30
    path = tmp_path / "huge-1.0.tar.gz"
    path.write_bytes(gzip.compress(header.tobuf(tarfile.USTAR_FORMAT) + b"0" * 4096))
    with pytest.raises(InputError, match="a header or read of over 16 MiB"):
        static_metadata(path)


fuzz = settings(max_examples=int(os.environ.get("WHEELHOUSE_FUZZ_EXAMPLES", "200")),
                deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.function_scoped_fixture])


@pytest.mark.filterwarnings("ignore::pkginfo.distribution.UnknownMetadataVersion")
@fuzz
@given(st.binary(max_size=600), st.sampled_from(["2.1", "2.2", "2.4", "x", ""]),
       st.lists(st.integers(min_value=0), max_size=6), st.booleans())
def test_damaged_or_hostile_sdists_give_only_input_errors(tmp_path, text, version, flips,
                                                          zipped):
    """Whatever the bytes of PKG-INFO, pyproject.toml or setup.py, or flipped bits in the
    archive: None, Metadata or evidence, or an InputError; never a traceback."""
    folder = tmp_path / os.urandom(4).hex()
    folder.mkdir()
    path = make_sdist(folder, "fz", "1.0", metadata_version=version, archive="zip" if zipped
                      else "tar.gz", project=text.decode("utf-8", "replace"),
                      setup_py=text.decode("latin-1"),
                      extra_files={"PKG-INFO": b"Metadata-Version: 2.2\n" + text})
    data = bytearray(path.read_bytes())
    for flip in flips:
        data[flip % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))
    with contextlib.suppress(InputError):
        assert isinstance(static_metadata(path), (Metadata, type(None)))
    with contextlib.suppress(InputError):
        assert isinstance(native_evidence(path), (str, type(None)))


# --- metadata_from_hook ------------------------------------------------------------------

def dynamic_sdist(folder: Path, calls: Path, **kwargs) -> Path:
    """An sdist whose PKG-INFO says its requirements are dynamic; the hook adds gamma>=1."""
    folder.mkdir(parents=True, exist_ok=True)
    return make_sdist(folder, "dyn-pkg", "1.0", requires=("beta",), metadata_version="2.2",
                      dynamic=("Requires-Dist",), hook_requires=("gamma>=1",), calls_log=calls,
                      **kwargs)


def test_the_hook_gives_the_metadata_and_no_wheel_is_built(tmp_path):
    calls = tmp_path / "calls.log"
    path = dynamic_sdist(tmp_path / "in", calls)
    assert static_metadata(path) is None
    found = metadata_from_hook(path, sha256(path), tmp_path / "cache", [], [])
    assert found == Metadata(name="dyn-pkg", version="1.0", requires_dist=("beta", "gamma>=1"),
                             requires_python=None, provides_extra=(), license="MIT")
    assert calls.read_text().split() == ["prepare_metadata_for_build_wheel"]


def test_build_requirements_come_from_the_index(tmp_path, pypiserver):
    calls = tmp_path / "calls.log"
    path = dynamic_sdist(tmp_path / "in", calls, backend_requires=("wh-test-backend",))
    found = metadata_from_hook(path, sha256(path), tmp_path / "cache", [pypiserver.url], [])
    assert found.requires_dist == ("beta", "gamma>=1")
    assert calls.read_text().split() == ["prepare_metadata_for_build_wheel"]


def test_without_an_index_a_build_requirement_is_a_failure_naming_the_sdist(tmp_path):
    path = dynamic_sdist(tmp_path / "in", tmp_path / "calls.log",
                         backend_requires=("wh-test-backend",))
    with pytest.raises(InputError, match="preparing the metadata of dyn_pkg-1.0.tar.gz"):
        metadata_from_hook(path, sha256(path), tmp_path / "cache", [], [])


def test_the_hooks_metadata_is_cached_by_the_sdists_sha256(tmp_path):
    calls, cache = tmp_path / "calls.log", tmp_path / "cache"
    path = dynamic_sdist(tmp_path / "in", calls)
    digest = sha256(path)
    first = metadata_from_hook(path, digest, cache, [], [])
    assert (cache / "metadata" / f"{digest}.json").is_file()
    path.unlink()  # the cache is all there is now: pip would fail
    assert metadata_from_hook(path, digest, cache, [], []) == first
    assert calls.read_text().split() == ["prepare_metadata_for_build_wheel"]


@pytest.mark.parametrize("cached", [b"{not json", b"[]", b'{"name": "dyn-pkg"}',
                                    b'{"name": "dyn-pkg", "version": "1.0", "requires_dist": '
                                    b'"beta", "requires_python": null, "provides_extra": [], '
                                    b'"license": null}'])
def test_a_cache_file_that_does_not_parse_is_ignored_and_rewritten(tmp_path, cached):
    calls, cache = tmp_path / "calls.log", tmp_path / "cache"
    path = dynamic_sdist(tmp_path / "in", calls)
    slot = cache / "metadata" / f"{sha256(path)}.json"
    slot.parent.mkdir(parents=True)
    slot.write_bytes(cached)
    found = metadata_from_hook(path, sha256(path), cache, [], [])
    assert found.requires_dist == ("beta", "gamma>=1")
    assert calls.read_text().split() == ["prepare_metadata_for_build_wheel"]
    assert slot.read_bytes() != cached
    path.unlink()  # what was rewritten is used
    assert metadata_from_hook(path, slot.stem, cache, [], []) == found


def test_a_failing_hook_shows_the_backends_own_error_and_keeps_the_log(tmp_path):
    path = dynamic_sdist(tmp_path / "in", tmp_path / "calls.log", fail_metadata_with=(
        "running egg_info\nerror: dyn-pkg needs numpy to compute its requirements"))
    with pytest.raises(InputError) as raised:
        metadata_from_hook(path, sha256(path), tmp_path / "cache", [], [])
    message = str(raised.value)
    log = tmp_path / "cache" / "logs" / "dyn_pkg-1.0.tar.gz.metadata.log"
    assert message.startswith("preparing the metadata of dyn_pkg-1.0.tar.gz on this machine")
    assert "error: dyn-pkg needs numpy to compute its requirements" in message
    assert message.endswith(f"The whole log: {log}.") and message.count("\n") == 0
    assert "running egg_info" in log.read_text()
    assert not (tmp_path / "cache" / "metadata" / f"{sha256(path)}.json").exists()


def test_metadata_of_another_project_than_the_filename_is_an_input_error(tmp_path):
    path = dynamic_sdist(tmp_path / "in", tmp_path / "calls.log")
    renamed = path.rename(path.with_name("other-1.0.tar.gz"))
    with pytest.raises(InputError, match=r"the metadata prepared from other-1.0.tar.gz names "
                                         r"dyn-pkg 1.0, but its filename names other 1.0\."):
        metadata_from_hook(renamed, sha256(renamed), tmp_path / "cache", [], [])


def test_a_backend_without_the_hook_is_built_for_its_metadata(tmp_path):
    """PEP 517's fallback, which pip takes: the wheel is built, its METADATA read."""
    calls = tmp_path / "calls.log"
    path = dynamic_sdist(tmp_path / "in", calls, metadata_hook=False)
    found = metadata_from_hook(path, sha256(path), tmp_path / "cache", [], [])
    assert found.requires_dist == ("beta", "gamma>=1")
    assert calls.read_text().split() == ["build_wheel"]


# --- native_evidence ---------------------------------------------------------------------

def test_a_pure_sdist_has_no_evidence(tmp_path):
    assert native_evidence(make_sdist(tmp_path, "pure", "1.0")) is None
    assert native_evidence(make_sdist(tmp_path, "needsbackend", "1.0",
                                      backend_requires=("wh-test-backend",))) is None


@pytest.mark.parametrize("backend, requires", [
    ("mesonpy", "meson-python"), ("maturin", "maturin>=1,<2"),
    ("scikit_build_core.build", "scikit-build-core"), ("py_build_cmake.build", "py-build-cmake"),
])
def test_a_backend_that_builds_extensions(tmp_path, backend, requires):
    path = make_sdist(tmp_path, "native", "1.0", backend=backend, backend_requires=(requires,))
    assert native_evidence(path) == f"its build backend is {backend}"


def test_pdm_backend_is_no_evidence(tmp_path):
    path = make_sdist(tmp_path, "pure", "1.0", backend="pdm.backend",
                      backend_requires=("pdm-backend",))
    assert native_evidence(path) is None


def test_setuptools_rust_in_the_build_requirements(tmp_path):
    path = make_sdist(tmp_path, "rusty", "1.0", backend="setuptools.build_meta",
                      backend_requires=("setuptools", "Setuptools_Rust>=1.5"))
    assert native_evidence(path) == "its build requirements name setuptools-rust"


def test_ext_modules_in_pyproject(tmp_path):
    path = make_sdist(tmp_path, "native", "1.0", project=(
        '[[tool.setuptools.ext-modules]]\nname = "native._speedups"\n'
        'sources = ["native/_speedups.c"]\n'))
    assert native_evidence(path) == "its pyproject.toml declares tool.setuptools.ext-modules"


@pytest.mark.parametrize("files, said", [
    ({"native/_speedups.c": b""}, "it holds C/C++ sources (native/_speedups.c)"),
    ({"src/a.cpp": b"", "src/b.cc": b"", "src/c.CXX": b"", "src/a.h": b""},
     "it holds C/C++ sources (src/a.cpp and 2 more)"),
    ({"native/_fast.pyx": b""}, "it holds Cython sources (native/_fast.pyx)"),
    ({"native/_fast.pyx": b"", "native/_fast.c": b""},
     "it holds Cython and C/C++ sources (native/_fast.pyx and 1 more)"),
    ({"rust/src/lib.rs": b""}, "it holds Rust sources (rust/src/lib.rs)"),
    ({"native/lapack.f90": b"", "native/blas.f": b""},
     "it holds Fortran sources (native/lapack.f90 and 1 more)"),
    ({"native/ext.go": b""}, "it holds Go sources (native/ext.go)"),
    ({"native/kernel.cu": b""}, "it holds CUDA sources (native/kernel.cu)"),
    ({"rust/Cargo.toml": b""}, "it holds rust/Cargo.toml"),
    ({"meson.build": b""}, "it holds meson.build"),
    ({"third_party/CMakeLists.txt": b""}, "it holds third_party/CMakeLists.txt"),
])
def test_native_sources_at_any_depth(tmp_path, files, said):
    assert native_evidence(make_sdist(tmp_path, "native", "1.0", extra_files=files)) == said


@pytest.mark.parametrize("files", [
    {"native/include/api.h": b"", "native/api.hpp": b""},  # headers alone compile nothing
    {"tests/data/example.c": b"", "docs/examples/ext.rs": b"", "Tests/CMakeLists.txt": b""},
    {"native/notes.c.txt": b"", "native/c": b""},
])
def test_headers_and_test_data_are_no_evidence(tmp_path, files):
    assert native_evidence(make_sdist(tmp_path, "pure", "1.0", extra_files=files)) is None


@pytest.mark.parametrize("setup, said", [
    ("setup(ext_modules=[Extension('x', ['x.c'])])", "its setup.py declares ext_modules"),
    ("from setuptools import Extension\nexts = [Extension('x', ['x.c'])]",
     "its setup.py declares an Extension"),
    ("setup(cffi_modules=['build.py:ffi'])", "its setup.py declares cffi_modules"),
    ("setup(rust_extensions=[RustExtension('x')])", "its setup.py declares rust_extensions"),
    ("from setuptools import setup\nsetup(name='pure', packages=['pure'])", None),
])
def test_a_setup_py_that_declares_extensions(tmp_path, setup, said):
    path = make_sdist(tmp_path, "legacy", "1.0", backend="setuptools.build_meta",
                      backend_requires=("setuptools",), setup_py=setup)
    assert native_evidence(path) == said


def test_the_backend_is_named_before_the_sources(tmp_path):
    path = make_sdist(tmp_path, "native", "1.0", backend="mesonpy",
                      backend_requires=("meson-python",), setup_py="ext_modules=[]",
                      extra_files={"native/_speedups.c": b"", "meson.build": b""})
    assert native_evidence(path) == "its build backend is mesonpy"


def test_members_past_the_limit_are_not_looked_at(tmp_path, monkeypatch):
    files = {f"pure/m{i}.py": b"" for i in range(20)} | {"pure/late.c": b""}
    path = make_sdist(tmp_path, "pure", "1.0", extra_files=files)
    assert native_evidence(path) == "it holds C/C++ sources (pure/late.c)"
    monkeypatch.setattr(sdist_module, "MEMBERS_LIMIT", 10)
    assert native_evidence(path) is None


def test_a_tar_with_many_members_is_listed_without_keeping_them(tmp_path):
    """tarfile keeps every member it lists; the listing here keeps none."""
    path = tmp_path / "many-1.0.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for i in range(3000):
            archive.addfile(tarfile.TarInfo(f"many-1.0/many/m{i}.py"), io.BytesIO(b""))
        archive.addfile(tarfile.TarInfo("many-1.0/many/last.rs"), io.BytesIO(b""))
    path.write_bytes(gzip.compress(buffer.getvalue()))
    with sdist_module._open_tar(path) as archive:
        assert sum(1 for _ in sdist_module._tar_members(archive)) == 3001
        assert len(vars(archive)["members"]) <= 1
    assert native_evidence(path) == "it holds Rust sources (many/last.rs)"
