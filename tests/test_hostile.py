"""Hostile folders and index pages: nothing outside --dest is touched, no link is followed.

Each test puts canary files outside the folder, feeds the tool names and links an attacker
would write, and checks the canaries afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import make_wheel, sha256
from inprocess import run

from wheelhouse.layout import LEDGER


@pytest.fixture
def canaries(tmp_path: Path) -> dict[str, Path]:
    """Files outside the folder that must survive, named as hostile names reach them."""
    outside = tmp_path / "outside"
    outside.mkdir()
    found = {}
    for name in ("canary-1.0-py3-none-any.whl", "canary.txt", "secret"):
        path = outside / name
        path.write_text(f"do not touch {name}")
        found[name] = path
    return found


def intact(canaries: dict[str, Path]) -> bool:
    return all(path.read_text() == f"do not touch {name}" for name, path in canaries.items())


def prepared(pypiserver, dest: Path, *extra: str) -> None:
    code, _, err = run("prepare", "alpha==1.0", "--python", "3.11", "--index-url",
                       pypiserver.url, "--dest", str(dest), *extra)
    assert code == 0, err


def test_a_hostile_manifest_and_ledger_cannot_make_a_rerun_remove_outside(
        pypiserver, tmp_path, canaries):
    dest = tmp_path / "wh"
    prepared(pypiserver, dest)
    document = json.loads((dest / "wheelhouse.json").read_text())
    template = document["files"][0]
    hostile = ["../outside/canary-1.0-py3-none-any.whl", str(canaries["canary.txt"]),
               "a/../../outside/canary.txt", "..\\outside\\canary.txt", "..", "."]
    document["files"] += [{**template, "filename": name} for name in hostile]
    document["locks"] = {"x": "../outside/secret"}
    document["rerun"]["files_sha256"]["../outside/secret"] = "0" * 64
    (dest / "wheelhouse.json").write_text(json.dumps(document))
    (dest / LEDGER).write_text("\n".join(hostile + ["../outside/secret"]))
    # verify names every hostile entry, and reads nothing outside
    code, out, _ = run("verify", str(dest), "--json")
    assert code == 1
    manifest_findings = [f for f in json.loads(out)["findings"] if f["check"] == "manifest"]
    assert len(manifest_findings) == len(hostile) + 2  # the lock and the rerun name too
    assert "do not touch" not in out
    # a re-run (the ledger forces a real one) removes what it owns, and nothing outside
    prepared(pypiserver, dest, "--refresh")
    assert intact(canaries)
    assert run("verify", str(dest))[0] == 0


def test_a_link_in_the_folder_is_reported_and_never_followed(pypiserver, tmp_path, canaries):
    dest = tmp_path / "wh"
    prepared(pypiserver, dest)
    wheel = dest / "beta-1.1-py3-none-any.whl"
    wheel.unlink()
    wheel.symlink_to(canaries["canary-1.0-py3-none-any.whl"])
    (dest / "requirements.lock.txt").unlink()
    (dest / "requirements.lock.txt").symlink_to(canaries["secret"])
    (dest / "constraints-3.11.txt").symlink_to(canaries["canary.txt"])
    code, out, _ = run("verify", str(dest), "--json")
    assert code == 1
    links = sorted(f["file"] for f in json.loads(out)["findings"] if f["check"] == "link")
    assert links == ["beta-1.1-py3-none-any.whl", "constraints-3.11.txt",
                     "requirements.lock.txt"]
    assert "do not touch" not in out  # nothing behind a link was read or echoed
    # prepare replaces the links it owns with real files, and writes nothing through them
    prepared(pypiserver, dest, "--refresh")
    assert intact(canaries)
    assert not wheel.is_symlink() and sha256(wheel) == sha256(pypiserver.folder / wheel.name)
    assert not (dest / "requirements.lock.txt").is_symlink()
    code, out, _ = run("verify", str(dest), "--json")
    # the link it did not put there (this run has no constraints) stays, and is reported
    assert sorted((f["check"], f["file"]) for f in json.loads(out)["findings"]) == [
        ("link", "constraints-3.11.txt"), ("unlisted", "constraints-3.11.txt")]


def test_the_image_constraints_folder_as_a_link_is_not_written_through(pypiserver, tmp_path,
                                                                        canaries):
    dest = tmp_path / "wh"
    dest.mkdir()
    (dest / "constraints-3.11").symlink_to(canaries["secret"].parent)
    constraints = tmp_path / "constraints-3.11.txt"
    constraints.write_text("uv==0.4.1\n")
    code, _, err = run("prepare", "apache-airflow==2.10.3", "--constraints", str(constraints),
                       "--python", "3.11", "--platform", "linux/amd64", "--index-url",
                       pypiserver.url, "--dest", str(dest))
    assert code == 0, err
    assert intact(canaries) and not (canaries["secret"].parent / "constraints-3.11.txt").exists()
    assert (dest / "constraints-3.11").is_dir() and not (dest / "constraints-3.11").is_symlink()
    assert run("verify", str(dest))[0] == 0


def test_an_index_page_cannot_name_a_path_or_a_local_file(web, tmp_path, canaries):
    files = tmp_path / "files"
    files.mkdir()
    good = make_wheel(files, "smuggle", "1.0")
    escape = "smuggle-1.0-1%2F..%2F..%2Foutside%2Fx-py3-none-any.whl"
    local = make_wheel(canaries["secret"].parent, "local", "1.0")
    body = (f'<a href="/files/{escape}#sha256={sha256(good)}">x</a>'
            f'<a href="/files/{good.name}#sha256={sha256(good)}">{good.name}</a>')
    web.file("/simple/smuggle/", body.encode(), {"Content-Type": "text/html"})
    web.file(f"/files/{good.name}", good.read_bytes())
    web.file(f"/files/{escape}", good.read_bytes())
    web.file("/simple/local/", f'<a href="{local.as_uri()}#sha256={sha256(local)}">l</a>'
             .encode(), {"Content-Type": "text/html"})
    dest = tmp_path / "wh"
    code, _, err = run("prepare", "smuggle==1.0", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(dest))
    assert code == 0, err
    assert sorted(p.name for p in dest.glob("*.whl")) == [good.name]  # the %2F link: skipped
    assert sorted(p.name for p in canaries["secret"].parent.iterdir()) == sorted(
        [*canaries, local.name])
    code, _, err = run("prepare", "local==1.0", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(tmp_path / "wh2"))
    assert code == 2 and "local" in err  # an HTTP page may not point at this machine's files
    assert not list((tmp_path / "wh2").glob("*.whl"))
    assert intact(canaries)


def test_a_wheel_with_a_link_member_is_a_finding(pypiserver, tmp_path):
    import zipfile

    dest = tmp_path / "wh"
    prepared(pypiserver, dest)
    wheel = dest / "beta-1.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "a") as archive:
        info = zipfile.ZipInfo("beta/escape")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    code, out, _ = run("verify", str(dest), "--json")
    assert code == 1
    paths = [f["message"] for f in json.loads(out)["findings"] if f["check"] == "member-path"]
    assert paths == ["beta-1.1-py3-none-any.whl has a member 'beta/escape' that is a symbolic "
                     "link."]


def test_a_dest_that_cannot_be_written_is_exit_2(pypiserver, tmp_path):
    (tmp_path / "file").write_text("a file")
    code, _, err = run("prepare", "alpha==1.0", "--index-url", pypiserver.url, "--dest",
                       str(tmp_path / "file" / "wh"))
    assert code == 2 and "cannot be written" in err


def test_ctrl_c_while_modules_load_is_the_one_line_answer():
    """Nothing heavy loads before main() can answer an interrupt (the commands load inside)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, wheelhouse.cli; print(sorted(m for m in "
         "('rich', 'requests', 'resolvelib', 'wheelhouse.commands') if m in sys.modules))"],
        capture_output=True, text=True)
    assert probe.stdout.strip() == "[]", probe.stderr


def test_a_file_the_index_gives_no_sha256_for_is_never_shipped(web, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    wheel = make_wheel(files, "nodigest", "1.0")
    web.file(f"/files/{wheel.name}", wheel.read_bytes())
    web.file("/simple/nodigest/", (f'<a href="/files/{wheel.name}#md5=0123">{wheel.name}</a>'
                                   f'<a href="/files/{wheel.name}">again</a>').encode(),
             {"Content-Type": "text/html"})
    dest = tmp_path / "wh"
    code, _, err = run("prepare", "nodigest==1.0", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(dest))
    assert code == 2
    assert "nodigest==1.0: the index publishes no sha256 for its files" in err
    assert f"/files/{wheel.name}" not in web.hits  # not even downloaded
    assert not list(dest.glob("*.whl"))
    # Asked for, it is shipped, named in a warning, and recorded as unverified; verify
    # reports it unless it is told the same, and lists it either way.
    code, _, err = run("prepare", "nodigest==1.0", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(dest), "--allow-unverified")
    assert code == 0, err
    assert "1 file(s) shipped unverified (--allow-unverified" in err and wheel.name in err
    entry = json.loads((dest / "wheelhouse.json").read_text())["files"][0]
    assert entry["index_sha256"] is None and entry["sha256"] == sha256(wheel)
    code, out, _ = run("verify", str(dest), "--json")
    assert code == 1
    assert [f["check"] for f in json.loads(out)["findings"]] == ["index-digest"]
    code, out, _ = run("verify", str(dest), "--json", "--allow-unverified")
    assert code == 0 and json.loads(out)["unverified"] == [wheel.name]


def test_no_password_reaches_the_manifest_or_a_message(pypiserver, web, tmp_path):
    good = web.file("/c.txt", b"beta==1.0\n")
    web.file("/bad.txt", b"beta>=1.0\n")
    secret = "s3cr3t-t0ken"
    with_password = good.replace("http://", f"http://carol:{secret}@")
    dest = tmp_path / "wh"
    outputs = []
    for url in (with_password, with_password.replace("/c.txt", "/missing.txt"),
                with_password.replace("/c.txt", "/bad.txt")):
        outputs.append(run("prepare", "alpha==2.0", "--python", "3.11", "--constraints", url,
                           "--index-url", pypiserver.url, "--dest", str(dest), "--json"))
    assert [code for code, _, _ in outputs] == [0, 2, 2]
    assert "carol:****@" in outputs[1][2] and "carol:****@" in outputs[2][2]
    bad_index = run("prepare", "alpha", "--index-url",
                    f"http://carol:{secret}@127.0.0.1:99999/simple", "--dest", str(dest))
    assert bad_index[0] == 2
    texts = [out + err for _, out, err in [*outputs, bad_index]]
    texts += [p.read_text(errors="replace") for p in dest.iterdir() if p.is_file()]
    assert not [text for text in texts if secret in text]


def test_pages_past_the_limit_and_compressed_bombs_are_refused(web, tmp_path, monkeypatch):
    import gzip

    from wheelhouse import net

    monkeypatch.setattr(net, "PAGE_LIMIT", net.MIB)
    web.file("/simple/huge/", b"<a " * (net.MIB // 2), {"Content-Type": "text/html"})
    bomb = gzip.compress(b"\0" * (256 * net.MIB), compresslevel=9)  # 256 MiB in ~250 KB
    web.file("/simple/bomb/", bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    for project in ("huge", "bomb"):
        code, _, err = run("prepare", project, "--index-url", f"{web.url}/simple", "--dest",
                           str(tmp_path / project))
        assert code == 3, err
        assert f"the index page of {project} at {web.url}/simple/{project}/ is larger than " \
               "1 MiB; refusing to read it." in err


def test_a_file_larger_than_the_index_says_is_cut_off(web, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    wheel = make_wheel(files, "grows", "1.0")
    page = {"meta": {"api-version": "1.1"}, "name": "grows", "files": [
        {"filename": wheel.name, "url": f"/files/{wheel.name}",
         "hashes": {"sha256": sha256(wheel)}, "size": 100}]}
    web.file("/simple/grows/", json.dumps(page).encode(),
             {"Content-Type": "application/vnd.pypi.simple.v1+json"})
    web.file(f"/files/{wheel.name}", wheel.read_bytes() + b"\0" * 4_000_000)
    dest = tmp_path / "wh"
    code, _, err = run("prepare", "grows==1.0", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(dest))
    assert code == 3 and "larger than the 100 bytes the index says it has" in err
    assert not [p for p in dest.iterdir() if p.name.endswith(".whl") or ".part-" in p.name]


def test_the_page_scanner_is_linear_on_an_unclosed_anchor():
    import time

    from wheelhouse.simple import html_links

    started = time.monotonic()
    assert list(html_links("<a " * 200_000, "https://i/")) == []
    links = list(html_links('<a href="x-1.0.tar.gz">x</a>' + "<a " * 200_000, "https://i/"))
    assert [link.filename for link in links] == ["x-1.0.tar.gz"]
    assert time.monotonic() - started < 2  # it took minutes: each `<a ` rescanned the rest


def _served_wheel(web, tmp_path: Path, name: str, change) -> None:
    """A wheel of `name` 1.0 on a page of its own, altered by `change(archive)` after build."""
    import zipfile

    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    wheel = make_wheel(files, name, "1.0")
    with zipfile.ZipFile(wheel, "a") as archive:
        change(archive)
    web.file(f"/files/{wheel.name}", wheel.read_bytes())
    web.file(f"/simple/{name}/", f'<a href="/files/{wheel.name}#sha256={sha256(wheel)}">w</a>'
             .encode(), {"Content-Type": "text/html"})


def _declared_bomb(archive) -> None:
    """A member whose zip directory entry claims 100 GiB: what an overlapping-member bomb
    declares (zipfile never reads past a declared size, so the claim is the cost)."""
    archive.writestr("bomb/data.bin", b"\0" * 1000)
    archive.getinfo("bomb/data.bin").file_size = 100 << 30


@pytest.mark.parametrize("name, change, words", [
    ("bomb", _declared_bomb, "more than the 16 GiB a wheel may"),
    ("slip", lambda a: a.writestr("../../escape.py", "x"), "would be written outside"),
    ("absolute", lambda a: a.writestr("/etc/cron.d/x", "x"), "would be written outside"),
    ("twice", lambda a: a.writestr("twice/__init__.py", "again"), "twice"),
    ("bigmeta", lambda a: a.writestr("bigmeta-1.0.dist-info/METADATA", b"\0" * (17 << 20)),
     "inflates to"),
])
def test_prepare_refuses_a_wheel_its_verify_would_reject(web, tmp_path, name, change, words):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate names we write
        _served_wheel(web, tmp_path, name, change)
    dest = tmp_path / "wh"
    code, _, err = run("prepare", f"{name}==1.0", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(dest))
    assert code == 2, err
    assert f"{name}-1.0-py3-none-any.whl cannot be shipped" in err and words in err
    assert not (dest / "wheelhouse.json").exists()
    # verify, shown the same wheel in a folder of its own, reports the same
    loose = tmp_path / "loose"
    loose.mkdir()
    wheel = next((tmp_path / "files").glob(f"{name}-*.whl"))
    (loose / wheel.name).write_bytes(wheel.read_bytes())
    code, out, _ = run("verify", str(loose), "--json", "--python", "3.11")
    assert code == 1 and words in out


def _streamed_wheel(folder: Path, name: str, member_size: int) -> Path:
    """A sound wheel (RECORD right) with one member of `member_size` zero bytes, written in
    chunks: a zip bomb that is also a valid wheel, ~1000:1."""
    import base64
    import hashlib
    import zipfile

    info = f"{name}-1.0.dist-info"
    small = {f"{name}/__init__.py": b"",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    path = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in small.items():
            archive.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{member},sha256={digest.decode()},{len(data)}")
        digest_of_zeros = hashlib.sha256()
        chunk = b"\0" * (1 << 20)
        with archive.open(f"{name}/zeros.bin", "w", force_zip64=True) as out:
            for _ in range(member_size >> 20):
                out.write(chunk)
                digest_of_zeros.update(chunk)
        encoded = base64.urlsafe_b64encode(digest_of_zeros.digest()).rstrip(b"=").decode()
        record.append(f"{name}/zeros.bin,sha256={encoded},{member_size}")
        archive.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
    return path


def test_verify_checks_a_real_zip_bomb_in_flat_memory_and_bounded_time(tmp_path):
    """1 GiB of zeros in a 1 MB wheel, RECORD right: verify inflates every byte to check its
    hash, in constant memory. The peak RSS of the whole verify (workers included) is
    measured by a parent that waits for it."""
    folder = tmp_path / "loose"
    folder.mkdir()
    wheel = _streamed_wheel(folder, "zeros", 1 << 30)
    assert wheel.stat().st_size < 2 << 20
    measure = ("import resource, subprocess, sys, time; t = time.monotonic(); "
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
               "time.monotonic() - t); print(r.stdout, r.stderr)")
    result = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "wheelhouse",
                             "verify", str(folder), "--python", "3.11"],
                            capture_output=True, text=True, timeout=300)
    code, peak_kib, seconds = result.stdout.split("\n", 1)[0].split()
    assert code == "0", result.stdout
    assert int(peak_kib) < 150 * 1024, f"verify peaked at {int(peak_kib) // 1024} MiB"
    assert float(seconds) < 60, seconds
    print(f"verify on a 1 GiB zip bomb: {int(peak_kib) // 1024} MiB peak, {float(seconds):.1f} s")


def test_429_retry_after_is_honoured_up_to_a_bound(pypiserver, web, tmp_path, monkeypatch):
    import time

    from wheelhouse import net

    monkeypatch.setattr(net, "MAX_RETRY_AFTER", 0.5)
    answers = iter([429, 200])

    def busy_then_ready(handler):
        status = next(answers, 200)
        body = b"beta==1.0\n" if status == 200 else b""
        handler.send_response(status)
        handler.send_header("Retry-After", "3600")  # an hour: held to the bound
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    web.routes["/c.txt"] = busy_then_ready
    web.status("/always-busy.txt", 429)
    started = time.monotonic()
    code, _, err = run("prepare", "alpha==2.0", "--python", "3.11", "--constraints",
                       f"{web.url}/c.txt", "--index-url", pypiserver.url, "--dest",
                       str(tmp_path / "wh"))
    assert code == 0, err
    assert web.hits.count("/c.txt") == 2 and time.monotonic() - started < 20
    code, _, err = run("prepare", "alpha==2.0", "--constraints", f"{web.url}/always-busy.txt",
                       "--index-url", pypiserver.url, "--dest", str(tmp_path / "wh2"))
    assert code == 3 and "answered HTTP 429" in err
    assert web.hits.count("/always-busy.txt") == 4  # the first try and three retries


def test_a_metadata_compressed_with_bzip2_is_refused_not_inflated(tmp_path):
    # zipfile inflates bzip2 and lzma members with no bound on a step: wheels never use them.
    import zipfile

    from wheelhouse.errors import InputError
    from wheelhouse.wheelfile import read_metadata

    wheel = make_wheel(tmp_path, "squeezed", "1.0")
    with zipfile.ZipFile(wheel) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            method = zipfile.ZIP_BZIP2 if name.endswith("METADATA") else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    with pytest.raises(InputError, match="compressed with zip method 12, not stored or deflated"):
        read_metadata(wheel)
