"""Errors are sentences: what failed and what to do, never a library's repr.

Every server here is on 127.0.0.0/8 or a `.invalid` name (which never resolves): nothing
reaches the internet, and every run ends in about a second.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from builders import make_wheel
from conftest import free_port
from test_prepare_errors import assert_clean_failure

from wheelhouse import net
from wheelhouse.index import Index, ProjectNotFound
from wheelhouse.verify import _config_error

# A class name opening its repr, an object's repr, a private class, a module path.
REPR = re.compile(r"[A-Z]\w+(Error|Exception)\(|<\w+|object at 0x|\b_\w+\(|\w+\.\w+\.[A-Z]\w+\(")
MIRROR = "check the network or the proxy ({}), or give --index-url of a mirror you can reach."


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's proxy settings would change the sentences (and route the requests)."""
    for key in list(os.environ):
        if key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(key)


def assert_words(result, code: int, *words: str) -> str:
    """One clean `error:` line, no repr, every word; returns the error line."""
    assert_clean_failure(result, code, *words)
    assert not REPR.search(result.stderr), result.stderr
    assert ".." not in result.stderr, result.stderr  # "...: cause." never doubles the period
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return line


def test_an_unresolvable_host_says_so_and_how_to_fix_it(run_cli, tmp_path):
    result = run_cli("prepare", "alpha", "--index-url", "https://no-such-host.invalid/simple",
                     "--dest", str(tmp_path / "wh"))
    line = assert_words(result, 3, "cannot reach https://no-such-host.invalid/simple/alpha/",
                        "for the index page of alpha", MIRROR.format("HTTPS_PROXY"))
    assert "host name" in line and "resolve" in line or "looked up" in line, line


def test_a_refused_port_says_so_and_how_to_fix_it(run_cli, tmp_path):
    port = free_port()  # nothing listens there
    result = run_cli("prepare", "alpha", "--index-url", f"http://127.0.0.1:{port}/simple",
                     "--dest", str(tmp_path / "wh"))
    assert_words(result, 3, f"cannot reach http://127.0.0.1:{port}/simple/alpha/ for the index "
                 "page of alpha: Connection refused; " + MIRROR.format("HTTP_PROXY"))


def test_a_proxy_that_refuses_is_named_as_what_failed_with_its_password_hidden(
        run_cli, tmp_path):
    port = free_port()
    env = {**os.environ, "HTTP_PROXY": f"http://bob:hunter2@127.0.0.1:{port}"}
    result = run_cli("prepare", "alpha", "--index-url", "http://pkgs.invalid/simple",
                     "--dest", str(tmp_path / "wh"), env=env)
    assert_words(result, 3, f"the proxy http://bob:****@127.0.0.1:{port} (HTTP_PROXY) failed "
                 "for the index page of alpha at http://pkgs.invalid/simple/alpha/: Connection "
                 "refused; check HTTP_PROXY (and NO_PROXY)")
    assert "hunter2" not in result.stderr


def test_a_redirect_loop_is_one_sentence_with_one_period(web, run_cli, tmp_path):
    def loop(handler):
        handler.send_response(302)
        handler.send_header("Location", "/simple/loop/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    web.routes["/simple/loop/"] = loop
    result = run_cli("prepare", "loop", "--index-url", f"{web.url}/simple", "--dest",
                     str(tmp_path / "wh"))
    line = assert_words(result, 3, "redirects the index page of loop in a loop")
    assert line.endswith(" redirects).")


def test_a_cause_that_ends_in_a_period_is_not_given_a_second():
    assert net._cause(ValueError("Exceeded 30 redirects."), "https://x.invalid/") == \
        "Exceeded 30 redirects"
    assert net._cause(ValueError("secret pw: no."), "https://u:pw@x.invalid/") == \
        "secret ****: no"


def test_an_index_that_answers_404_to_every_page_asks_whether_it_is_a_simple_api(
        web, run_cli, tmp_path):
    # The `web` server answers 404 for every path: what https://pypi.org/ does for /alpha/.
    result = run_cli("prepare", "alpha", "beta", "--index-url", f"{web.url}/", "--dest",
                     str(tmp_path / "wh"))
    assert_words(result, 2, "alpha is not on any index", "beta is not on any index",
                 f"{web.url} answered 404 for all 2 pages asked: is --index-url the root of a "
                 "Simple API (it ends in /simple/)?")
    assert sorted(web.hits) == ["/alpha/", "/beta/"]


def test_the_index_knows_when_every_page_asked_of_it_was_404(web):
    for served in ("/mirror/simple/alpha/", "/served/alpha/"):
        web.file(served, b"<html><body></body></html>", {"Content-Type": "text/html"})
    session = net.make_session(timeout=5)

    def hint_after(index_urls: list[str], *names: str) -> str:
        index = Index(session, index_urls, [])
        try:
            for name in names:
                with contextlib.suppress(ProjectNotFound):
                    index.project_files(name)
            return index.hint()
        finally:
            index.close()

    project = f"{web.url}/project"
    assert hint_after([project], "alpha") == (
        f" {project} answered 404: is --index-url the root of a Simple API (it ends in "
        "/simple/)?")
    # the extra index is the one at fault; the first served a page
    assert hint_after([f"{web.url}/mirror/simple", project], "alpha", "ghost") == (
        f" {project} answered 404 for all 2 pages asked: is --extra-index-url the root of a "
        "Simple API (it ends in /simple/)?")
    # no project missing: nothing to explain
    assert hint_after([f"{web.url}/mirror/simple"], "alpha") == ""
    # a Simple API root that knows none of the names: they are misspelled, not the URL
    assert hint_after([f"{web.url}/other/simple"], "ghost") == ""
    # one page served: the index is a Simple API, whatever its URL
    assert hint_after([f"{web.url}/served"], "alpha", "ghost") == ""


def test_airflow_constraints_from_an_unreachable_mirror(run_cli, tmp_path):
    port = free_port()
    env = {**os.environ, "WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE": f"http://127.0.0.1:{port}/c"}
    result = run_cli("prepare", "apache-airflow==2.10.3", "--constraints", "airflow:2.10.3",
                     "--python", "3.11", "--index-url", f"http://127.0.0.1:{port}/simple",
                     "--dest", str(tmp_path / "wh"), env=env)
    assert_words(result, 3, "the constraints airflow:2.10.3 could not be fetched from the "
                 f"mirror in WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE (http://127.0.0.1:{port}/c/"
                 "constraints-2.10.3/constraints-3.11.txt: Connection refused); give a local "
                 "file (--constraints FILE) or a mirror you can reach through "
                 "WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE.")


def test_airflow_constraints_when_github_cannot_be_reached(run_cli, tmp_path):
    # A proxy that refuses stands for a network without GitHub: nothing leaves this machine.
    port = free_port()
    env = {**os.environ, "HTTPS_PROXY": f"http://127.0.0.1:{port}"}
    env.pop("WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE", None)
    result = run_cli("prepare", "apache-airflow==2.10.3", "--constraints", "airflow:2.10.3",
                     "--python", "3.11", "--index-url", f"http://127.0.0.1:{port}/simple",
                     "--dest", str(tmp_path / "wh"), env=env)
    assert_words(result, 3, "the constraints airflow:2.10.3 could not be fetched from GitHub "
                 f"(the proxy http://127.0.0.1:{port} (HTTPS_PROXY): Connection refused); give "
                 "a local file (--constraints FILE) or a mirror through "
                 "WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE.")


def test_a_constraints_url_that_cannot_be_reached_suggests_a_local_file(run_cli, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/c.txt"
    result = run_cli("prepare", "alpha", "--constraints", url, "--index-url",
                     f"http://127.0.0.1:{port}/simple", "--dest", str(tmp_path / "wh"))
    assert_words(result, 3, f"cannot reach {url}", "Connection refused; check the network or "
                 "the proxy (HTTP_PROXY), or give a local file (--constraints FILE).")


def _rebuilt(wheel: Path, rename: dict[str, str | None]) -> None:
    """The wheel again, each member renamed by the first matching prefix (None drops it)."""
    with zipfile.ZipFile(wheel) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            for old, new in rename.items():
                if name.startswith(old):
                    name = None if new is None else new + name[len(old):]
                    break
            if name is not None:
                archive.writestr(name, data)


@pytest.mark.parametrize("rename, words", [
    ({"demo-1.0.dist-info/": "other-1.0.dist-info/"},
     "demo-1.0-py3-none-any.whl: its .dist-info folder other-1.0.dist-info/ is named for "
     "other, not for demo as the file name says (demo-1.0.dist-info/), so installers refuse "
     "it."),
    ({"demo-1.0.dist-info/": None},
     "demo-1.0-py3-none-any.whl has no .dist-info folder (a wheel keeps its METADATA and "
     "RECORD in demo-1.0.dist-info/), so its files cannot be checked."),
    ({"demo-1.0.dist-info/RECORD": None},
     "demo-1.0-py3-none-any.whl has no demo-1.0.dist-info/RECORD (the list of its files and "
     "their hashes), so its files cannot be checked."),
], ids=["misnamed", "none", "no-record"])
def test_verify_says_what_is_wrong_with_a_wheels_dist_info(run_cli, tmp_path, rename, words):
    folder = tmp_path / "loose"
    folder.mkdir()
    _rebuilt(make_wheel(folder, "demo", "1.0"), rename)
    result = run_cli("verify", str(folder), "--python", "3.11", "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)["findings"]
    record = [f["message"] for f in findings if f["check"] == "record"]
    assert record == [words], findings
    for finding in findings:
        assert not REPR.search(finding["message"]), finding
    people = run_cli("verify", str(folder), "--python", "3.11")
    assert people.returncode == 1 and not REPR.search(people.stdout + people.stderr)


def test_a_record_that_cannot_be_read_is_said_in_words(run_cli, tmp_path):
    folder = tmp_path / "loose"
    folder.mkdir()
    wheel = make_wheel(folder, "demo", "1.0")
    with zipfile.ZipFile(wheel) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["demo-1.0.dist-info/RECORD"] = b"demo/__init__.py,sha256=x\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = run_cli("verify", str(folder), "--python", "3.11", "--json")
    assert result.returncode == 1, result.stderr
    messages = [f["message"] for f in json.loads(result.stdout)["findings"]]
    assert "demo-1.0-py3-none-any.whl: demo-1.0.dist-info/RECORD cannot be read (line 1 has " \
        "2 fields, not 3)." in messages, messages


@pytest.mark.parametrize("text, words", [
    ("no-index = true\n", "line 1 comes before any [section]"),
    ("[global]\n[global]\n", "line 2 opens [global] a second time"),
    ("[global]\nno-index = true\nno-index = false\n",
     "line 3 sets no-index in [global] a second time"),
    ("[global]\njunk\nmore junk\n", "lines 2, 3 are not `key = value`"),
])
def test_a_pip_conf_that_cannot_be_parsed_is_said_in_words(text, words):
    parser = configparser.ConfigParser()
    with pytest.raises(configparser.Error) as caught:
        parser.read_string(text, source="pip.conf")
    assert _config_error(caught.value) == words
