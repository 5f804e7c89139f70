"""`wheelhouse prepare`: its options and its run (the pipeline is wheelhouse.prepare)."""

from __future__ import annotations

import argparse
from pathlib import Path

from wheelhouse import layout, report
from wheelhouse.commands.options import add_output_options, policy_keys_help
from wheelhouse.errors import EXIT_OK
from wheelhouse.index import PYPI

NAME = "prepare"

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
  wheelhouse prepare --extend 2.10.3 apache-airflow-providers-snowflake --python 3.11 \\
      && wheelhouse dockerfile -o Dockerfile

DEST then holds the files, constraints-<PY>.txt (the constraints as downloaded),
pylock.toml (PEP 751, every target), requirements.lock.txt (several targets:
requirements.<target>.lock.txt) and wheelhouse.json. Install it offline with:
  pip install -r DEST/pylock.toml                      (pip 26.1 or later; or uv pip install)
  pip install --no-index --find-links DEST --require-hashes -r DEST/requirements.lock.txt

Running prepare again reuses every file whose sha256 still matches. When the inputs
(requirements, constraints, targets, indexes, options) are those DEST was prepared from and
every file is intact, it only hashes DEST and says it is up to date; --refresh resolves
against the index again.

exit codes: 0 done; 2 bad input (spec, constraints line, unknown package, no file for
the target, a wheel verify would reject, a policy file that cannot be read) or DEST cannot
be written (disk full); 3 network or index failure (unreachable, HTTP error, timeout, digest
mismatch); 4 what was resolved breaks the --policy (every violation named); 130 interrupted.
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME,
        help="resolve, download and verify a wheelhouse for a target",
        description=PREPARE_HELP,
        epilog=PREPARE_EPILOG + "\n" + policy_keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("specs", nargs="*", metavar="SPEC",
                        help='a requirement, extras included: "apache-airflow[celery]==2.10.3"')
    parser.add_argument("-r", "--requirement", action="append", default=[], type=Path,
                        metavar="FILE",
                        help="read more SPECs from FILE, one a line, with -r/-c includes "
                             "relative to it; a hashed lock (pip-compile or uv pip compile "
                             "--generate-hashes) or a pylock.toml: its pins are taken exactly, "
                             "and every file shipped for them must carry one of its sha256 "
                             "hashes; repeatable")
    parser.add_argument("-c", "--constraints", action="append", default=[], metavar="SRC",
                        help="an http(s) URL, a local file, or airflow:VERSION[:MODE] "
                             "(MODE: constraints, no-providers, source-providers); {python} "
                             "in a URL or path stands for each target's Python (3.11); "
                             "repeatable: the files are merged, and a project two of them pin "
                             "apart is an error")
    target = parser.add_argument_group("target (default: this machine)")
    target.add_argument("--python", action="append", default=[], metavar="X.Y",
                        help="target Python, e.g. 3.11 (markers see 3.11.0) or 3.11.4; "
                             "311 and cp311 as pip's --python-version takes them; repeatable")
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
    parser.add_argument("--dest", type=Path, default=layout.DEFAULT_DEST,
                        help="the wheelhouse folder (default: docker-context-files)")
    sources = parser.add_argument_group(
        "sources (each setting: the flag, else WHEELHOUSE_INDEX_URL for the index URL, else "
        "pip's configuration as pip download reads it, else the default)")
    sources.add_argument("-i", "--index-url", metavar="URL",
                         help="the Simple API to use (default: $WHEELHOUSE_INDEX_URL, else "
                              f"pip's index-url, else {PYPI})")
    sources.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                         help="another Simple API; repeatable; replaces pip's "
                              "extra-index-url (default: pip's, if any)")
    sources.add_argument("-f", "--find-links", action="append", default=[], type=Path,
                         metavar="DIR",
                         help="a folder of wheels and sdists to use too; repeatable; replaces "
                              "pip's find-links (default: pip's folders, if any; a web page "
                              "there is not used, with a warning)")
    sources.add_argument("--cert", type=Path, metavar="FILE",
                         help="the CA bundle to verify TLS with, alone (default: pip's cert, "
                              "else $REQUESTS_CA_BUNDLE, else the system's certificate store)")
    sources.add_argument("--isolated", action="store_true",
                         help="ignore pip's configuration (its files and PIP_* variables, as "
                              "PIP_ISOLATED_MODE does); the flags and WHEELHOUSE_INDEX_URL "
                              "still apply")
    parser.add_argument("--keep-sdists", action="store_true",
                        help="where a wheel built here from an sdist does not fit a target, "
                             "ship the sdist and wheels of its build requirements instead, "
                             "for the target (or the image) to build")
    parser.add_argument("--no-build", action="store_true",
                        help="refuse to build wheels from sdists (default: build when no "
                             "wheel fits the target)")
    parser.add_argument("--pre", action="store_true",
                        help="consider pre-releases and development releases like any "
                             "release (default, as PEP 440 says: only where a specifier names "
                             "one, or where no final release satisfies the specifiers)")
    parser.add_argument("--check-reproducible", action="store_true",
                        help="build each wheel built here a second time and record in the "
                             "manifest whether both builds gave the same bytes (its build's "
                             "'reproducible'); default: built once, recorded as null"),
    image = parser.add_argument_group("Airflow image (when SPEC includes apache-airflow)")
    image.add_argument("--extend", metavar="VERSION",
                       help="prepare SPECs (e.g. providers) to extend the released image "
                            "apache/airflow:VERSION-pythonX.Y instead of building Airflow's "
                            "image: apache-airflow==VERSION is pinned as the image holds it, "
                            "the constraints default to airflow:VERSION and the platform to "
                            "the image's (linux, its Debian's glibc, this machine's "
                            "architecture), and no pip or uv is shipped for the image; then "
                            "`wheelhouse dockerfile` writes the Dockerfile")
    image.add_argument("--pip-version", metavar="V",
                       help="the pip wheel to ship for the image (default: the newest that "
                            "supports the target Python)")
    image.add_argument("--uv-version", metavar="V",
                       help="the uv wheel to ship when the constraints do not pin uv")
    parser.add_argument("--refresh", action="store_true",
                        help="resolve against the index even when DEST is intact and was "
                             "prepared from the same inputs (by default such a re-run is done "
                             "in the time it takes to hash DEST, without the network); use it "
                             "to pick up a newer pip, a yank, or a new release of a "
                             "dependency the constraints do not pin")
    parser.add_argument("--wait", action="store_true",
                        help="when another prepare is writing DEST, wait for it to finish "
                             "(default: stop at once, exit 2); two runs never write one "
                             "folder together")
    parser.add_argument("--jobs", type=int, default=8, metavar="N",
                        help="parallel downloads (default: 8; index pages are fetched "
                             "24 at a time)")
    sources.add_argument("--allow-unverified", action="store_true",
                         help="ship files the index publishes no sha256 for (md5 or none, "
                              "e.g. a plain web folder). By default they are refused; with "
                              "this, each is named in a warning and recorded as unverified "
                              "(index_sha256 null), and verify reports it unless given "
                              "--allow-unverified too")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="how long a server may stay silent, and the window over which "
                             "a download must average 1 KiB/s, before it is abandoned and "
                             "asked again (3 attempts; default: 60). A server that never "
                             "answers ends the run with exit 3 after about 4 x SECONDS")
    parser.add_argument("--policy", type=Path, metavar="FILE",
                        help="a policy (TOML; its keys below): what was resolved must keep its "
                             "rules, or the run stops with one error naming every violation "
                             "(exit 4) and writes no manifest; the policy's sha256 is recorded "
                             "in the manifest ('policy')")
    parser.add_argument("--osv", type=Path, metavar="PATH",
                        help="an OSV export (osv.dev's PyPI all.zip, or a folder of OSV JSON "
                             "records): at the end, every project version in DEST is checked "
                             "against it, offline, as `wheelhouse audit` does; each match is "
                             "a warning and the manifest records the audit ('audit')")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="where built wheels are cached (default: "
                             "$XDG_CACHE_HOME/wheelhouse)")
    chatter = parser.add_mutually_exclusive_group()
    chatter.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1,
                         help="also a line for each file as it is downloaded, reused or built")
    chatter.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1,
                         help="no progress and no summary table: only warnings and errors "
                              "(and --json's document)")
    parser.set_defaults(verbosity=0)
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
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
        cert=args.cert,
        isolated=args.isolated,
        jobs=args.jobs,
        allow_build=not args.no_build,
        cache_dir=args.cache_dir,
        pip_version=args.pip_version,
        uv_version=args.uv_version,
        keep_sdists=args.keep_sdists,
        refresh=args.refresh,
        wait=args.wait,
        allow_unverified=args.allow_unverified,
        check_reproducible=args.check_reproducible,
        pre=args.pre,
        osv=args.osv,
        policy=args.policy,
        extend=args.extend,
    )
    if args.timeout is not None:
        options.timeout = args.timeout
    with report.PrepareProgress(verbosity=args.verbosity) as progress:
        summary = prepare(options, progress)
    for message in summary.warnings:
        report.warn(message)
    if args.json:
        report.print_json(summary.to_json())
    elif args.verbosity >= 0:
        report.print_prepare_summary(summary)
    return EXIT_OK
