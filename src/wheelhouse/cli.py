"""The thin command line: parse arguments, run one command, map errors to exit codes.

Exit codes: 0 success; 1 verification found problems; 2 bad usage or bad input;
3 network or index failure; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wheelhouse import __version__, report
from wheelhouse.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, InputError, WheelhouseError
from wheelhouse.index import PYPI

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70

PREPARE_HELP = """\
Resolve requirements (extras included) under a constraints file into a pinned set of
wheels for each target Python and platform, download them into DEST with every sha256
checked against the index's published digest, and write a hashed lock per target and a
manifest.

Markers and Requires-Python are evaluated for the target, never for this machine.
"""

PREPARE_EPILOG = """\
examples:
  wheelhouse prepare "apache-airflow[celery,postgres]==2.10.3" \\
      --constraints airflow:2.10.3 --python 3.11 --platform manylinux_2_28_x86_64
  wheelhouse prepare "pytest==8.3.5" --python 3.10 --dest wheels --json

DEST then holds the files, constraints-<PY>.txt (the constraints as downloaded),
requirements.lock.txt (several targets: requirements.<target>.lock.txt) and
wheelhouse.json. Install it offline with:
  pip install --no-index --find-links DEST --require-hashes -r DEST/requirements.lock.txt

Running prepare again reuses every file whose sha256 still matches. When the inputs
(requirements, constraints, targets, indexes, options) are those DEST was prepared from and
every file is intact, it only hashes DEST and says it is up to date; --refresh resolves
against the index again.

exit codes: 0 done; 2 bad input (spec, constraints line, unknown package, no file for
the target); 3 network or index failure (unreachable, HTTP error, digest mismatch).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wheelhouse",
        description="Prepare and prove air-gapped Python wheelhouses.",
    )
    parser.add_argument("--version", action="version", version=f"wheelhouse {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    prepare = commands.add_parser(
        "prepare",
        help="resolve, download and verify a wheelhouse for a target",
        description=PREPARE_HELP,
        epilog=PREPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prepare.add_argument("specs", nargs="*", metavar="SPEC",
                         help='a requirement, extras included: "apache-airflow[celery]==2.10.3"')
    prepare.add_argument("-r", "--requirement", action="append", default=[], type=Path,
                         metavar="FILE", help="read more SPECs from FILE, one a line")
    prepare.add_argument("-c", "--constraints", metavar="SRC",
                         help="an http(s) URL, a local file, or airflow:VERSION[:MODE] "
                              "(MODE: constraints, no-providers, source-providers)")
    target = prepare.add_argument_group("target (default: this machine)")
    target.add_argument("--python", action="append", default=[], metavar="X.Y",
                        help="target Python, e.g. 3.11 (markers see 3.11.0) or 3.11.4; "
                             "repeatable")
    target.add_argument("--platform", action="append", default=[], metavar="TAG",
                        help="a wheel platform tag (manylinux_2_28_x86_64, win_amd64, "
                             "macosx_11_0_arm64) or a Docker platform (linux/amd64, "
                             "linux/arm64); older compatible tags of its family are accepted "
                             "too; repeatable. The targets are every --python with every "
                             "--platform")
    target.add_argument("--implementation", default="cp", choices=("cp", "pp"),
                        help="Python implementation (default: cp)")
    target.add_argument("--abi", action="append", default=[], metavar="ABI",
                        help="accept this ABI too (e.g. cp313t); repeatable")
    prepare.add_argument("--dest", type=Path, default=Path("docker-context-files"),
                         help="the wheelhouse folder (default: docker-context-files)")
    sources = prepare.add_argument_group("sources (pip's own configuration is never read)")
    sources.add_argument("--index-url", default=PYPI, metavar="URL",
                         help=f"the Simple API to use (default: {PYPI})")
    sources.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                         help="another Simple API; repeatable")
    sources.add_argument("--find-links", action="append", default=[], type=Path, metavar="DIR",
                         help="a folder of wheels and sdists to use too; repeatable")
    prepare.add_argument("--keep-sdists", action="store_true",
                         help="where a wheel built here from an sdist does not fit a target, "
                              "ship the sdist and wheels of its build requirements instead, "
                              "for the target (or the image) to build")
    prepare.add_argument("--no-build", action="store_true",
                         help="refuse to build wheels from sdists (default: build when no "
                              "wheel fits the target)")
    image = prepare.add_argument_group("Airflow image (when SPEC includes apache-airflow)")
    image.add_argument("--pip-version", metavar="V",
                       help="the pip wheel to ship for the image (default: the newest that "
                            "supports the target Python)")
    image.add_argument("--uv-version", metavar="V",
                       help="the uv wheel to ship when the constraints do not pin uv")
    prepare.add_argument("--refresh", action="store_true",
                         help="resolve against the index even when DEST is intact and was "
                              "prepared from the same inputs (by default such a re-run is done "
                              "in the time it takes to hash DEST, without the network); use it "
                              "to pick up a newer pip, a yank, or a new release of a "
                              "dependency the constraints do not pin")
    prepare.add_argument("--jobs", type=int, default=8, metavar="N",
                         help="parallel downloads (default: 8; index pages are fetched "
                              "24 at a time)")
    prepare.add_argument("--cache-dir", type=Path, metavar="DIR",
                         help="where built wheels are cached (default: "
                              "$XDG_CACHE_HOME/wheelhouse)")
    _common(prepare)

    verify = commands.add_parser(
        "verify",
        help="prove offline that a wheelhouse is complete, untampered and installable",
        description=VERIFY_HELP,
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("folder", nargs="?", type=Path, default=Path("docker-context-files"),
                        metavar="DIR", help="the wheelhouse (default: docker-context-files)")
    verify.add_argument("--requirement", action="append", default=[], metavar="SPEC",
                        help="a root of the dependency closure (default: the manifest's "
                             "requirements, else every wheel in DIR); repeatable")
    verify.add_argument("--constraints", type=Path, metavar="FILE",
                        help="a local constraints file (default: the one in DIR)")
    verify.add_argument("--python", action="append", default=[], metavar="X.Y",
                        help="a target Python (default: the manifest's targets, else this "
                             "machine); repeatable")
    verify.add_argument("--platform", action="append", default=[], metavar="TAG",
                        help="a target platform, as for prepare; repeatable")
    verify.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="processes for hashing (default: every core)")
    _common(verify)

    build_args = commands.add_parser(
        "build-args",
        help="print the docker build / breeze arguments that build Airflow's image offline",
        description=BUILD_ARGS_HELP,
        epilog=BUILD_ARGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build_args.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                            help="a prepared wheelhouse (its manifest gives the Airflow version, "
                                 "Python, pip and uv); default: docker-context-files unless "
                                 "--airflow-version is given")
    build_args.add_argument("--airflow-version", metavar="V", help="e.g. 2.10.5")
    build_args.add_argument("--python", metavar="X.Y",
                            help="the image's Python, e.g. 3.11 (Airflow 3.1+: X.Y.Z)")
    build_args.add_argument("--format", default="docker", choices=("docker", "breeze", "json",
                                                                   "env"),
                            help="docker: a ready-to-run command (default); breeze: `breeze "
                                 "prod-image build` flags; json and env: for CI systems")
    build_args.add_argument("--tag", metavar="IMAGE", help="the image tag for docker build")
    build_args.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


VERIFY_HELP = """\
Check a wheelhouse without touching the network: every file against the manifest (size,
sha256, the index's digest), nothing unlisted, every wheel's zip and RECORD member by
member, METADATA against the filename, tags against the targets, the constraints' pins,
the dependency closure for each target, and the lock against the manifest.

Without a wheelhouse.json (a folder made by pip download or by hand) it checks what it
can from --requirement, --constraints and the target flags.
"""

VERIFY_EPILOG = """\
examples:
  wheelhouse verify docker-context-files
  wheelhouse verify wheels --requirement pytest==8.3.5 --python 3.10 --json

exit codes: 0 every check holds; 1 findings (each names the check, the file or project,
what was expected and what was found); 2 it cannot run (no such folder, a manifest that
is not JSON or not of a known schema).
"""


BUILD_ARGS_HELP = """\
Print the arguments that build Apache Airflow's production image from the wheelhouse
alone: local-files install on, constraints from the folder, no pre-cache from GitHub, no
MySQL client, the base image of the constraints' Python, pip and uv as shipped, and
--no-cache. Each Airflow generation's own argument names: Docker silently ignores a name
its Dockerfile does not declare.
"""

BUILD_ARGS_EPILOG = """\
examples:
  wheelhouse build-args docker-context-files
  wheelhouse build-args --airflow-version 2.10.5 --python 3.11 --format breeze

exit codes: 0 printed; 2 the version cannot build offline (1.10.12 and older) or the
inputs are incomplete.
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document on stdout instead of a table")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks for errors")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except WheelhouseError as exc:
        if args.debug:
            raise
        return _fail(args, str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail(args, "interrupted; no partial file was left under a final name.",
                     EXIT_INTERRUPTED)
    except Exception as exc:  # an internal error: still one sentence, traceback on --debug
        if args.debug:
            raise
        return _fail(args, f"internal error: {type(exc).__name__}: {exc} "
                           "(run again with --debug for the traceback).", EXIT_INTERNAL)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    report.error(message)
    if getattr(args, "json", False):
        report.print_json({"ok": False, "error": message, "exit_code": code})
    return code


def _run(args: argparse.Namespace) -> int:
    if args.command == "prepare":
        from wheelhouse.prepare import PrepareOptions, prepare

        options = PrepareOptions(
            specs=args.specs,
            requirement_files=args.requirement,
            constraints=args.constraints,
            pythons=args.python,
            platforms=args.platform,
            implementation=args.implementation,
            abis=tuple(args.abi),
            dest=args.dest,
            index_url=args.index_url,
            extra_index_urls=args.extra_index_url,
            find_links=args.find_links,
            jobs=args.jobs,
            allow_build=not args.no_build,
            cache_dir=args.cache_dir,
            pip_version=args.pip_version,
            uv_version=args.uv_version,
            keep_sdists=args.keep_sdists,
            refresh=args.refresh,
        )
        with report.PrepareProgress() as progress:
            summary = prepare(options, progress)
        for message in summary["warnings"]:
            report.warn(message)
        if args.json:
            report.print_json(summary)
        else:
            report.print_prepare_summary(summary)
        return 0
    if args.command == "verify":
        from wheelhouse.verify import verify

        if args.jobs is not None and args.jobs < 1:
            raise InputError(f"--jobs {args.jobs}: give at least 1.")
        with report.HashProgress(args.folder) as progress:
            result = verify(args.folder, args.requirement, args.constraints, args.python,
                            args.platform, args.jobs, progress.file_done)
        if args.json:
            report.print_json(result.as_json())
        else:
            report.print_verify(result)
        return EXIT_OK if result.ok else EXIT_FINDINGS
    if args.command == "build-args":
        sys.stdout.write(_build_args(args).rstrip("\n") + "\n")
        return EXIT_OK
    return EXIT_USAGE


def _build_args(args: argparse.Namespace) -> str:
    """Settings from the folder's manifest, overridden by the flags; then rendered."""
    from wheelhouse import buildargs
    from wheelhouse.manifest import load_manifest
    from wheelhouse.target import parse_python

    settings: dict[str, str | None] = {}
    folder = args.folder
    if folder is None and args.airflow_version is None:
        folder = Path("docker-context-files")
    if folder is not None:
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.")
        document = load_manifest(folder)
        if document is None:
            raise InputError(f"{folder} has no wheelhouse.json; run wheelhouse prepare first, "
                             "or give --airflow-version and --python.")
        settings = buildargs.settings_from_manifest(document)
    if args.airflow_version:
        settings["airflow_version"] = args.airflow_version
    if args.python:
        (major, minor), full = parse_python(args.python)
        settings["python"] = f"{major}.{minor}"
        settings["python_patch"] = full if args.python.count(".") == 2 else None
    if not settings.get("python"):
        raise InputError("give --python: the folder serves several Pythons, or none is known.")
    version = settings.pop("airflow_version")
    python = settings.pop("python")
    values = buildargs.build_args(version, python, **settings)
    return buildargs.render(values, args.format, tag=args.tag)


if __name__ == "__main__":
    sys.exit(main())
