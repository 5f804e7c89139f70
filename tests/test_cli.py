"""The CLI in-process through `wheelhouse.cli.main`: the option and exit-code matrix.

Each case runs in milliseconds (no subprocess): the exact exit code, one sentence on stderr,
no traceback, and with --json the error document on stdout. The subprocess tests elsewhere
cover what only a real process shows (signals, a real terminal, sockets cut off).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wheelhouse import __version__
from wheelhouse.cli import main


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults such as docker-context-files land in the test's folder, never the checkout."""
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def assert_one_error(err: str, *words: str) -> str:
    """stderr holds exactly one `error:` sentence, naming every word; return it.

    The sentence may run over several lines where it quotes packaging's own message (a spec
    or constraints line, with a caret under the fault), so it is everything from `error:` on.
    """
    assert len(re.findall(r"^error:", err, re.M)) == 1, err
    sentence = err[err.index("error:"):].strip()
    for word in words:
        assert word in sentence, (word, sentence)
    return sentence


def assert_json_error(out: str, code: int, sentence: str) -> None:
    document = json.loads(out)
    assert document == {"ok": False, "error": document["error"], "exit_code": code}
    assert sentence == f"error: {document['error']}"


# --- prepare: bad input (2) and a dead index (3) -------------------------------------------

# Placeholders: {tmp} the test's folder, {index} pypiserver's Simple URL, {web} the web
# fixture's root (which answers 404 to every path not given a route).
PREPARE_FAILURES = [
    ("no-spec", [], 2, ["nothing to prepare"]),
    ("jobs-0", ["alpha", "--jobs", "0"], 2, ["--jobs 0"]),
    ("jobs-negative", ["alpha", "--jobs", "-3"], 2, ["--jobs -3"]),
    ("bad-spec", ["alpha[fast"], 2, ["'alpha[fast'", "not a valid requirement"]),
    ("python-2.7", ["alpha", "--python", "2.7"], 2, ["--python '2.7'"]),
    ("python-word", ["alpha", "--python", "three"], 2, ["--python 'three'"]),
    ("python-pre", ["alpha", "--python", "3.13rc1"], 2, ["--python '3.13rc1'"]),
    ("platform", ["alpha", "--platform", "linux/sparc"], 2, ["--platform 'linux/sparc'"]),
    ("constraints-missing", ["alpha", "--constraints", "{tmp}/nope.txt"], 2,
     ["{tmp}/nope.txt", "does not exist"]),
    ("constraints-bad-line", ["alpha", "--constraints", "{tmp}/bad.txt"], 2,
     ["{tmp}/bad.txt", "line 3", "not a pin"]),
    ("constraints-folder", ["alpha", "--constraints", "{tmp}/links"], 2,
     ["{tmp}/links", "is a directory"]),
    ("find-links-file", ["alpha", "--find-links", "{tmp}/plain"], 2,
     ["--find-links {tmp}/plain is not a folder"]),
    ("find-links-missing", ["alpha", "--find-links", "{tmp}/absent"], 2,
     ["--find-links {tmp}/absent is not a folder"]),
    ("dest-file", ["alpha", "--dest", "{tmp}/plain"], 2,
     ["--dest {tmp}/plain exists and is not a folder"]),
    ("unknown-project", ["no-such-project-here"], 2,
     ["no-such-project-here is not on any index"]),
    ("unknown-version", ["alpha==9.9"], 2, ["alpha==9.9", "2.0, 1.0"]),
    ("constraints-404", ["alpha", "--constraints", "{web}/missing-constraints.txt"], 2,
     ["{web}/missing-constraints.txt", "404"]),
    ("index-closed-port", ["alpha", "--index-url", "http://127.0.0.1:9/simple"], 3,
     ["cannot reach http://127.0.0.1:9/simple/alpha/ for the index page of alpha: "
      "Connection refused; check the network or the proxy (HTTP_PROXY), or give --index-url "
      "of a mirror you can reach."]),
]


@pytest.mark.parametrize("argv, code, words",
                         [pytest.param(*case[1:], id=case[0]) for case in PREPARE_FAILURES])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_prepare_fails_with_one_sentence(request, capsys, pypiserver, tmp_path, argv, code,
                                         words, as_json):
    (tmp_path / "bad.txt").write_text("beta==1.0\n# a comment\nthis is not a pin\n")
    (tmp_path / "plain").write_text("a file, not a folder\n")
    (tmp_path / "links").mkdir()
    fill = {"tmp": str(tmp_path), "index": pypiserver.url}
    if any("{web}" in arg for arg in argv):  # only then: its shutdown costs half a second
        fill["web"] = request.getfixturevalue("web").url
    argv = [arg.format(**fill) for arg in argv]
    if "--index-url" not in argv:
        argv += ["--index-url", pypiserver.url]  # never PyPI itself, whatever the order
    if "--dest" not in argv:
        argv += ["--dest", str(tmp_path / "wh")]
    got, out, err = run(capsys, "prepare", *argv, *(["--json"] if as_json else []))
    assert got == code, err
    sentence = assert_one_error(err, *(word.format(**fill) for word in words))
    if as_json:
        assert_json_error(out, code, sentence)
    else:
        assert out == ""
    assert not (tmp_path / "wh" / "wheelhouse.json").exists()


@pytest.mark.parametrize("argv", [
    ["--jobs", "many"],
    ["--implementation", "jy"],
    ["--no-such-flag"],
], ids=["jobs-not-int", "implementation", "unknown-flag"])
def test_prepare_usage_errors_are_argparse_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "alpha", "--json", *argv])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert "usage: wheelhouse" in err and "Traceback" not in err
    assert out == ""  # argparse answers before --json is known: no JSON document


# --- prepare then verify, in-process --------------------------------------------------------

def test_prepare_then_verify_then_tamper(capsys, pypiserver, tmp_path):
    dest = tmp_path / "wh"
    code, out, err = run(capsys, "prepare", "alpha==1.0", "--python", "3.11", "--index-url",
                         pypiserver.url, "--dest", str(dest), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ok"] is True and summary["up_to_date"] is False
    assert summary["files"] == 2  # alpha 1.0 and beta 1.1 (2.0rc1 is a pre-release)
    assert summary["counts"]["downloaded"] == 2
    assert Path(summary["lock"]).is_file() and Path(summary["manifest"]).is_file()

    code, out, err = run(capsys, "prepare", "alpha==1.0", "--python", "3.11", "--index-url",
                         pypiserver.url, "--dest", str(dest), "--json")
    assert code == 0, err
    assert json.loads(out)["up_to_date"] is True

    code, out, err = run(capsys, "verify", str(dest), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True and report["findings"] == []
    assert report["checked"]["files"] == 2

    code, out, _ = run(capsys, "verify", str(dest))
    assert code == 0 and out.strip().splitlines()[-1].endswith("all checks hold.")

    wheel = dest / "beta-1.1-py3-none-any.whl"
    data = bytearray(wheel.read_bytes())
    data[60] ^= 0xFF
    wheel.write_bytes(bytes(data))
    code, out, err = run(capsys, "verify", str(dest), "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["ok"] is False
    sha = [f for f in report["findings"] if f["check"] == "sha256"]
    assert [f["file"] for f in sha] == [wheel.name]

    code, out, _ = run(capsys, "verify", str(dest))
    assert code == 1 and re.search(r": \d+ findings\.$", out.strip().splitlines()[-1])


# --- verify: cannot run (2) -----------------------------------------------------------------

# (manifest bytes written to {tmp}/wh/wheelhouse.json or None, argv, words)
VERIFY_FAILURES = {
    "no-folder": (None, ["{tmp}/nope"], ["{tmp}/nope is not a folder"]),
    "a-file": (None, ["{tmp}/plain"], ["{tmp}/plain is not a folder"]),
    "jobs-0": (None, ["{tmp}/wh", "--jobs", "0"], ["--jobs 0"]),
    "jobs-negative": (None, ["{tmp}/wh", "--jobs", "-1"], ["--jobs -1"]),
    "not-json": (b'{"schema": 1, "files": [', ["{tmp}/wh"],
                 ["{tmp}/wh/wheelhouse.json is not valid JSON"]),
    "schema-99": (b'{"schema": 99, "files": []}', ["{tmp}/wh"],
                  ["{tmp}/wh/wheelhouse.json", "known schema"]),
    "json-list": (b"[]", ["{tmp}/wh"], ["{tmp}/wh/wheelhouse.json", "known schema"]),
    "not-utf8": (b"\xff\xfe", ["{tmp}/wh"], ["{tmp}/wh/wheelhouse.json is not UTF-8"]),
    "constraints-missing": (None, ["{tmp}/wh", "--constraints", "{tmp}/nope.txt"],
                            ["{tmp}/nope.txt"]),
    "python": (None, ["{tmp}/wh", "--python", "three"], ["--python 'three'"]),
    "platform": (None, ["{tmp}/wh", "--platform", "linux/sparc"], ["--platform 'linux/sparc'"]),
}


@pytest.mark.parametrize("manifest, argv, words", VERIFY_FAILURES.values(),
                         ids=VERIFY_FAILURES.keys())
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_verify_cannot_run(capsys, tmp_path, manifest, argv, words, as_json):
    (tmp_path / "wh").mkdir()
    (tmp_path / "plain").write_text("a file, not a folder\n")
    if manifest is not None:
        (tmp_path / "wh" / "wheelhouse.json").write_bytes(manifest)
    fill = {"tmp": str(tmp_path)}
    code, out, err = run(capsys, "verify", *(arg.format(**fill) for arg in argv),
                         *(["--json"] if as_json else []))
    assert code == 2, err
    sentence = assert_one_error(err, *(word.format(**fill) for word in words))
    if as_json:
        assert_json_error(out, 2, sentence)
    else:
        assert out == ""


def test_verify_default_folder_is_docker_context_files(capsys):
    code, _, err = run(capsys, "verify")
    assert code == 2
    assert_one_error(err, "docker-context-files is not a folder")


# --- build-args -----------------------------------------------------------------------------

def test_build_args_docker_command(capsys):
    code, out, err = run(capsys, "build-args", "--airflow-version", "2.10.3", "--python", "3.11")
    assert code == 0, err
    shell, verdict = out.split("\n# ", 1)  # the command, then the verdict as comments
    command = " ".join(shell.replace("\\\n", " ").split())  # continuations joined
    assert command.startswith("docker build ") and command.endswith(" .")
    assert verdict.startswith("offline: NO.") and "download.docker.com" in verdict
    assert "--build-arg AIRFLOW_VERSION=2.10.3" in command and "--no-cache" in command
    assert "--build-arg INSTALL_MYSQL_CLIENT=false" in command
    assert "--build-arg INSTALL_POSTGRES_CLIENT=false" in command


def test_build_args_json_format(capsys):
    code, out, err = run(capsys, "build-args", "--airflow-version", "2.10.3", "--python", "3.11",
                         "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["airflow_version"] == "2.10.3" and document["python"] == "3.11"
    assert document["build_args"]["AIRFLOW_VERSION"] == "2.10.3"
    assert document["build_args"]["PYTHON_BASE_IMAGE"] == "python:3.11-slim-bookworm"


@pytest.mark.parametrize("argv, words", [
    (["--airflow-version", "1.10.12", "--python", "3.8"], ["1.10.12 cannot be built offline"]),
    (["--airflow-version", "1.9.0", "--python", "3.6"], ["1.9.0 cannot be built offline"]),
    (["--airflow-version", "2.10.3", "--python", "three"], ["three"]),
    (["--airflow-version", "2.10.3"], ["give --python with --airflow-version"]),
    (["{tmp}/empty"], ["{tmp}/empty has no wheelhouse.json"]),
    (["{tmp}/absent"], ["{tmp}/absent is not a folder"]),
    ([], ["docker-context-files is not a folder"]),
], ids=["1.10.12", "1.9.0", "bad-python", "no-python", "no-manifest", "no-folder", "default"])
def test_build_args_refused(capsys, tmp_path, argv, words):
    (tmp_path / "empty").mkdir()
    fill = {"tmp": str(tmp_path)}
    code, out, err = run(capsys, "build-args", *(arg.format(**fill) for arg in argv))
    assert code == 2, err
    assert out == ""
    assert_one_error(err, *(word.format(**fill) for word in words))


def test_build_args_unknown_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build-args", "--airflow-version", "2.10.3", "--python", "3.11", "--format", "x"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# --- the program itself ---------------------------------------------------------------------

def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.strip() == f"wheelhouse {__version__}"
    assert re.fullmatch(r"wheelhouse \d+\.\d+\S*", out.strip())


@pytest.mark.parametrize("argv", [[], ["frobnicate"]], ids=["missing", "unknown"])
def test_command_is_required(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: wheelhouse" in err and "Traceback" not in err
