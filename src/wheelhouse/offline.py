"""What a release's stock Dockerfile fetches whatever the folder holds: the offline verdict.

Each blocker was read in Airflow's Dockerfiles and wheels (see shared/airflow-facts.md); no
build argument removes it. "Offline" is about Python: every distribution, interpreter and tool
the build installs comes from the folder. The base image and Debian packages come from the
organization's registry and apt mirror in any case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from wheelhouse.airflow import release, within

SCOPE = ("offline means every Python distribution, interpreter and tool the build installs "
         "comes from the folder; the base image and Debian packages still come from your "
         "registry and apt mirror")
EXTEND = ("extend the released image instead: FROM apache/airflow:{version}-python{py} through "
          "your registry mirror, then, as the airflow user, pip install --no-index "
          "--find-links of the folder")


@dataclass(frozen=True)
class Blocker:
    """One thing the build fetches from outside the folder, and what to do about it."""

    what: str
    why: str
    workaround: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


_PYTHON_DOWNLOAD = Blocker(
    "Python from python.org",
    "the build downloads Python-X.Y.Z.tar.xz from python.org and fetches the release manager's "
    "GPG key from a keyserver to check it",
    EXTEND)

# (first Airflow version it applies to, first it no longer does, the blocker).
_BLOCKERS: tuple[tuple[str, str | None, Blocker], ...] = (
    ("1.10.13", "1.10.15", Blocker(
        "yarn install of the web UI",
        "the Dockerfile runs `yarn install` when the installed Airflow carries "
        "www_rbac/package.json, as the apache-airflow wheel does; yarn fetches JavaScript "
        "packages from its registry",
        EXTEND)),
    ("1.10.14", "2.2.4", Blocker(
        "pip upgrade as root",
        "a root `pip install --upgrade pip==X` runs with no pip.conf, so it asks PyPI",
        EXTEND)),
    ("1.10.15", "2.0.1", Blocker(
        "the context install is skipped without a .tar.gz",
        "it runs only `if ls /docker-context-files/*.{whl,tar.gz}` succeeds; with no .tar.gz "
        "in the folder it is skipped silently and the image has no Airflow",
        EXTEND)),
    ("2.0.0", "2.1.0", Blocker(
        "the context install has no --find-links",
        "dependencies of the folder's files are looked up on the index",
        EXTEND)),
    ("2.1.0", "2.2.4", Blocker(
        "the context install asks the index",
        "it has --find-links but not --no-index, and pip.conf is not copied from the folder "
        "(only .pypirc is)",
        "use 2.2.4 or later, whose Dockerfile copies the folder's pip.conf, or " + EXTEND)),
    # Seen in every Dockerfile here from 2.8.4 on (none from 2.3 to 2.7 was at hand), and
    # proven by a real build: `CONNECT download.docker.com:443` was its only refused request.
    ("2.8.0", None, Blocker(
        "Docker's apt repository",
        "install_os_dependencies.sh installs docker-ce-cli in the build and final stages: it "
        "curls Docker's signing key from https://download.docker.com and adds that host's apt "
        "repository, and no build argument skips it (it is not a Debian package)",
        "let the build reach download.docker.com through your proxy; or build a copy of the "
        "Dockerfile whose two `install_docker_cli` calls are replaced by `:` (the image then has "
        "no docker command); or " + EXTEND)),
    ("2.8.0", "2.9.0", Blocker(
        "pip install in the final stage, as root",
        "the final stage runs install_pip_version.sh as root, where the folder's pip.conf "
        "(copied for the airflow user only) does not apply",
        EXTEND)),
    ("3.0", None, Blocker(
        "uv tool install",
        "the build runs `uv tool install` (pre-commit, later prek) several times; uv reads "
        "only uv.toml, never pip.conf, and no build argument turns the step off",
        EXTEND)),
    ("3.1", None, _PYTHON_DOWNLOAD),
    ("3.3", None, Blocker(
        "cosign from GitHub",
        "the build downloads cosign from GitHub",
        EXTEND)),
)


def blockers(airflow_version: str, python: str, *, compiles_python: bool | None = None
             ) -> list[Blocker]:
    """The blockers of that release's stock Dockerfile, in build order.

    compiles_python: whether the Dockerfile in hand declares AIRFLOW_PYTHON_VERSION (None: no
    Dockerfile, the release decides), which a snapshot of main can do before its release."""
    version = release(airflow_version)
    found = []
    for since, until, blocker in _BLOCKERS:
        applies = within(version, since, until)
        if blocker is _PYTHON_DOWNLOAD and compiles_python is not None:
            applies = compiles_python
        if applies:
            found.append(Blocker(blocker.what, blocker.why,
                                 blocker.workaround.format(version=airflow_version, py=python)))
    return found
