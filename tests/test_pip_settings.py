"""Where files come from: pip's configuration as `pip download` reads it, and wheelhouse's
precedence over it (flags > WHEELHOUSE_INDEX_URL > pip > PyPI); trust (the system's store,
or a CA bundle). The suite's conftest gives every test PIP_CONFIG_FILE=os.devnull and no
PIP_* variable: each test sets what it needs."""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from builders import make_wheel
from conftest import free_port

from wheelhouse import net, pip_settings
from wheelhouse.errors import InputError
from wheelhouse.index import PYPI
from wheelhouse.pip_settings import IndexSettings, read_pip_settings, resolve_sources

MIRROR = "https://mirror.example/simple"
OTHER = "https://other.example/simple"


def manifest(dest: Path) -> dict:
    return json.loads((dest / "wheelhouse.json").read_text())


def closed_index() -> str:
    return f"http://127.0.0.1:{free_port()}/simple"


def pip_conf(tmp_path: Path, text: str, name: str = "pip.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the precedence, a pure function ------------------------------------------------------


def pip(**settings) -> IndexSettings:
    origins = {name: f"/etc/pip.conf [global] ({name})" for name in
               ("index-url", "extra-index-url", "find-links", "cert", "no-index")}
    return IndexSettings(origins=origins, reader="pip", **settings)


def test_nothing_said_is_pypi():
    sources = resolve_sources()
    assert sources.index_urls == [PYPI]
    assert sources.index_origin() == {PYPI: "default"}
    assert sources.find_links == () and sources.cert is None and sources.warnings == ()


@pytest.mark.parametrize("flag, env, pip_url, expected, origin", [
    (MIRROR, OTHER, "https://pip.example/simple", MIRROR, "--index-url"),
    (None, OTHER, "https://pip.example/simple", OTHER, "WHEELHOUSE_INDEX_URL"),
    (None, None, "https://pip.example/simple", "https://pip.example/simple",
     "/etc/pip.conf [global] (index-url)"),
    (None, None, None, PYPI, "default"),
    (None, "  ", None, PYPI, "default"),  # an empty WHEELHOUSE_INDEX_URL says nothing
], ids=["flag", "wheelhouse-env", "pip", "default", "empty-env"])
def test_the_index_url_comes_from_the_first_that_names_one(flag, env, pip_url, expected,
                                                           origin):
    sources = resolve_sources(index_url=flag, wheelhouse_index_url=env,
                              pip=pip(index_url=pip_url))
    assert sources.index_urls == [expected]
    assert sources.index_origin() == {expected: origin}


def test_isolated_ignores_pip_but_not_the_flags_nor_wheelhouse_index_url():
    settings = pip(index_url="https://pip.example/simple", extra_index_urls=(OTHER,),
                   find_links=("/srv/wheels",), cert="/etc/pip-ca.pem")
    assert resolve_sources(pip=settings, isolated=True).index_urls == [PYPI]
    assert resolve_sources(pip=settings, isolated=True).cert is None
    isolated = resolve_sources(pip=settings, isolated=True, wheelhouse_index_url=MIRROR)
    assert isolated.index_origin() == {MIRROR: "WHEELHOUSE_INDEX_URL"}
    flagged = resolve_sources(pip=settings, isolated=True, index_url=MIRROR,
                              extra_index_urls=[OTHER])
    assert flagged.index_origin() == {MIRROR: "--index-url", OTHER: "--extra-index-url"}
    assert flagged.find_links == ()


def test_each_setting_on_its_own_and_a_flag_replaces_pips_value():
    settings = pip(index_url="https://pip.example/simple",
                   extra_index_urls=("https://e1.example/simple", "https://e2.example/simple"),
                   find_links=("/srv/wheels",), cert="/etc/pip-ca.pem")
    # -i alone: pip's extra indexes, find-links and cert still apply, as in pip download
    sources = resolve_sources(index_url=MIRROR, pip=settings)
    assert sources.index_urls == [MIRROR, "https://e1.example/simple",
                                  "https://e2.example/simple"]
    assert sources.index_origin()["https://e1.example/simple"] == \
        "/etc/pip.conf [global] (extra-index-url)"
    assert sources.find_links == (Path("/srv/wheels"),)
    assert sources.cert == "/etc/pip-ca.pem"
    # --extra-index-url, -f and --cert replace pip's (they do not add to them)
    sources = resolve_sources(extra_index_urls=[OTHER], find_links=[Path("/mine")],
                              cert=Path("/my-ca.pem"), pip=settings)
    assert sources.index_urls == ["https://pip.example/simple", OTHER]
    assert sources.find_links == (Path("/mine"),)
    assert sources.find_links_origin() == {"/mine": "--find-links"}
    assert (sources.cert, sources.settings.origins["cert"]) == ("/my-ca.pem", "--cert")


def test_wheelhouse_index_url_replaces_only_the_index_url():
    settings = pip(index_url="https://pip.example/simple", extra_index_urls=(OTHER,))
    sources = resolve_sources(wheelhouse_index_url=MIRROR, pip=settings)
    assert sources.index_origin() == {MIRROR: "WHEELHOUSE_INDEX_URL",
                                      OTHER: "/etc/pip.conf [global] (extra-index-url)"}


def test_pips_no_index_drops_pypi_and_pips_indexes_not_the_flags():
    settings = pip(no_index=True, index_url="https://pip.example/simple",
                   extra_index_urls=(OTHER,), find_links=("/srv/wheels",))
    sources = resolve_sources(pip=settings)
    assert sources.index_urls == [] and sources.find_links == (Path("/srv/wheels"),)
    assert resolve_sources(pip=settings, index_url=MIRROR).index_urls == [MIRROR]
    assert resolve_sources(pip=settings, wheelhouse_index_url=MIRROR).index_urls == [MIRROR]
    with pytest.raises(InputError, match="no-index, from /etc/pip.conf"):
        resolve_sources(pip=pip(no_index=True))


def test_pips_find_links_that_are_not_folders_are_warned_of_never_dropped_silently():
    settings = pip(find_links=("https://alice:hunter2@download.example/whl/torch.html",
                               "file:///srv/wheels", "~/wheels", "/nowhere"))
    sources = resolve_sources(pip=settings, is_folder=lambda p: p != Path("/nowhere"))
    assert sources.find_links == (Path("/srv/wheels"), Path(os.path.expanduser("~/wheels")))
    web, missing = sources.warnings
    assert "https://alice:****@download.example/whl/torch.html" in web
    assert "hunter2" not in web and "is not used" in web and "-f" in web
    assert "/nowhere" in missing and "not a folder" in missing
    # the same folder given with -f is an error, as it always was
    with pytest.raises(InputError, match="--find-links /nowhere is not a folder"):
        resolve_sources(find_links=[Path("/nowhere")], is_folder=lambda p: False)


def test_an_index_wheelhouse_cannot_read_from_pip_is_warned_of_from_a_flag_refused():
    sources = resolve_sources(pip=pip(index_url="https://pip.example/simple",
                                      extra_index_urls=("file:///opt/pypi/simple",)))
    assert sources.index_urls == ["https://pip.example/simple"]
    (warning,) = sources.warnings
    assert "file:///opt/pypi/simple" in warning and "http(s) only" in warning
    with pytest.raises(InputError, match="--index-url file:///opt/pypi/simple is not an http"):
        resolve_sources(index_url="file:///opt/pypi/simple")
    with pytest.raises(InputError, match="WHEELHOUSE_INDEX_URL /srv/simple is not an http"):
        resolve_sources(wheelhouse_index_url="/srv/simple")
    with pytest.raises(InputError, match="nothing to fetch files from"):
        resolve_sources(pip=pip(index_url="file:///opt/pypi/simple"))


def test_origins_and_warnings_never_carry_a_password():
    secret = "s3cr3t-token"
    settings = pip(index_url=f"https://bob:{secret}@pip.example/simple",
                   extra_index_urls=(f"ftp://bob:{secret}@old.example/simple",))
    sources = resolve_sources(pip=settings)
    shown = json.dumps([sources.index_origin(), sources.warnings, repr(sources.settings)])
    assert secret not in shown and "bob:****@pip.example" in shown
    assert sources.index_urls == [f"https://bob:{secret}@pip.example/simple"]  # sent as given


# -- pip's settings, read -----------------------------------------------------------------


@pytest.fixture(params=["pip", "configparser"])
def reader(request, monkeypatch) -> str:
    """Each test of read_pip_settings runs through pip's Configuration and, with pip's
    internals made to fail, through the fallback that reads pip's files itself."""
    if request.param == "configparser":
        def broken():
            raise AttributeError("pip's internals moved")

        monkeypatch.setattr(pip_settings, "_through_pip", broken)
    return request.param


def test_nothing_when_pip_config_file_is_devnull(reader):
    assert os.environ["PIP_CONFIG_FILE"] == os.devnull  # the suite's isolation
    settings = read_pip_settings()
    assert (settings.index_url, settings.extra_index_urls, settings.find_links) == \
        (None, (), ())
    assert settings.reader == reader


def test_the_command_section_wins_over_global_and_the_environment_over_both(
        reader, tmp_path, monkeypatch):
    conf = pip_conf(tmp_path, "[global]\nindex-url = https://global.example/simple\n"
                    "extra-index-url = https://g1.example/simple\n"
                    "find_links = /srv/global-wheels\n"
                    "cert = /etc/global-ca.pem\n"
                    "[install]\nindex-url = https://install.example/simple\n"
                    "[download]\nindex-url = https://download.example/simple\n"
                    "extra-index-url =\n  https://d1.example/simple\n"
                    "  https://d2.example/simple\n"
                    "cert =\n")  # empty: [global]'s stays in force
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    settings = read_pip_settings()
    assert settings.index_url == "https://download.example/simple"
    assert settings.extra_index_urls == ("https://d1.example/simple",
                                         "https://d2.example/simple")
    assert settings.find_links == ("/srv/global-wheels",)
    assert settings.cert == "/etc/global-ca.pem"
    # (this machine's global files are read too, as pip reads them: the file named by
    # PIP_CONFIG_FILE comes after them and wins)
    assert settings.origins == {"index-url": f"{conf} [download]",
                                "extra-index-url": f"{conf} [download]",
                                "find-links": f"{conf} [global]", "cert": f"{conf} [global]"}
    monkeypatch.setenv("PIP_INDEX_URL", MIRROR)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", f"{OTHER} https://e2.example/simple")
    monkeypatch.setenv("PIP_CERT", "/etc/ca.pem")
    monkeypatch.setenv("PIP_NO_INDEX", "false")
    settings = read_pip_settings()
    assert (settings.index_url, settings.extra_index_urls, settings.cert) == \
        (MIRROR, (OTHER, "https://e2.example/simple"), "/etc/ca.pem")
    assert settings.no_index is False and settings.reader == reader
    assert settings.origins["index-url"] == "PIP_INDEX_URL"
    assert settings.origins["extra-index-url"] == "PIP_EXTRA_INDEX_URL"
    assert settings.origins["cert"] == "PIP_CERT"
    assert "no-index" not in settings.origins


def test_no_index_and_isolation(reader, tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", str(pip_conf(tmp_path, "[global]\nno-index = yes\n")))
    settings = read_pip_settings()
    assert settings.no_index and settings.origins["no-index"].endswith("pip.conf [global]")
    monkeypatch.setenv("PIP_NO_INDEX", "maybe")
    with pytest.raises(InputError, match="no-index 'maybe' .from PIP_NO_INDEX"):
        read_pip_settings()
    monkeypatch.setenv("PIP_INDEX_URL", MIRROR)
    assert read_pip_settings(isolated=True) == IndexSettings(reader="isolated")
    monkeypatch.setenv("PIP_ISOLATED_MODE", "1")
    assert read_pip_settings() == IndexSettings(reader="isolated")


def test_pips_own_files_in_pips_order(reader, tmp_path, monkeypatch):
    """The user's file is read, and PIP_CONFIG_FILE, when it names a file, wins over it and
    keeps it from being read (as pip does); the global files are this machine's."""
    home = tmp_path / "home"
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\nindex-url = https://user.example/simple\n"
                    "extra-index-url = https://user-extra.example/simple\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("PIP_CONFIG_FILE")
    settings = read_pip_settings()
    assert settings.extra_index_urls == ("https://user-extra.example/simple",)
    assert settings.origins["extra-index-url"] == f"{user} [global]"
    named = pip_conf(tmp_path, "[download]\nindex-url = https://named.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(named))
    settings = read_pip_settings()
    assert settings.index_url == "https://named.example/simple"
    assert settings.extra_index_urls == ()  # the user's file is not read


def test_the_fallback_reads_what_pip_reads(tmp_path, monkeypatch):
    conf = pip_conf(tmp_path, "[global]\nindex-url = https://a.example/simple\n"
                    "[download]\nextra-index-url = https://b.example/simple "
                    "https://c.example/simple\nfind-links = /srv/w\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_CERT", "/etc/ca.pem")
    through_pip = read_pip_settings()
    assert through_pip.reader == "pip"
    monkeypatch.setattr(pip_settings, "_through_pip", lambda: 1 / 0)
    fallback = read_pip_settings()
    assert fallback.reader == "configparser"
    assert (fallback.index_url, fallback.extra_index_urls, fallback.find_links,
            fallback.cert, fallback.origins) == (
        through_pip.index_url, through_pip.extra_index_urls, through_pip.find_links,
        through_pip.cert, through_pip.origins)


def test_a_pip_conf_pip_cannot_read_is_one_sentence(reader, tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", str(pip_conf(
        tmp_path, "index-url = https://bob:hunter2@mirror.example/simple\n")))  # no section
    with pytest.raises(InputError, match="pip's configuration") as caught:
        read_pip_settings()
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message
    assert "bob:****@mirror.example" in message


# -- prepare, end to end ------------------------------------------------------------------


def test_prepare_takes_the_index_from_pip_index_url(pypiserver, run_cli, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", pypiserver.url)
    result = run_cli("prepare", "alpha==1.0", "--python", "3.11", "--dest", "wh")
    assert result.returncode == 0, result.stderr
    document = manifest(tmp_path / "wh")
    assert {f["name"] for f in document["files"]} == {"alpha", "beta"}
    for entry in document["files"]:
        assert entry["index"] == pypiserver.url
        assert entry["url"].startswith(pypiserver.url.rsplit("/", 1)[0] + "/")
    assert document["index_urls"] == [pypiserver.url]
    assert document["index_origin"] == {pypiserver.url: "PIP_INDEX_URL"}
    assert f"index:    {pypiserver.url} (from PIP_INDEX_URL)" in result.stdout
    assert "next: wheelhouse verify wh\n" in result.stdout  # DEST as it was given
    assert "build-args" not in result.stdout  # not an Airflow folder
    as_json = run_cli("prepare", "alpha==1.0", "--python", "3.11", "--dest", "wh", "--json")
    summary = json.loads(as_json.stdout)
    assert summary["index_urls"] == [pypiserver.url]
    assert summary["index_origin"] == {pypiserver.url: "PIP_INDEX_URL"}
    assert summary["next"] == ["wheelhouse verify wh"]


def test_isolated_ignores_pips_index(pypiserver, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", closed_index())
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "absent"))
    result = run_cli("prepare", "beta==1.0", "--isolated", "-i", pypiserver.url, "--dest", "wh")
    assert result.returncode == 0, result.stderr
    assert manifest(tmp_path / "wh")["index_origin"] == {pypiserver.url: "--index-url"}
    assert "find-links" not in result.stderr + result.stdout
    # and without --isolated pip's index is the one asked: it is closed
    refused = run_cli("prepare", "beta==1.0", "--dest", "wh2")
    assert refused.returncode == 3
    assert "Connection refused" in refused.stderr and "absent" in refused.stderr


def test_a_pip_conf_global_index_and_download_extra_index(pypiserver, web, run_cli, tmp_path,
                                                          monkeypatch):
    folder = tmp_path / "files"
    folder.mkdir()
    extra_index = web.simple_page("webonly", [(make_wheel(folder, "webonly", "1.0"), {})])
    conf = pip_conf(tmp_path, f"[global]\nindex-url = {pypiserver.url}\n"
                    f"extra-index-url = {closed_index()}\n"  # [download]'s wins: never asked
                    f"[download]\nextra-index-url = {extra_index}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    result = run_cli("prepare", "beta==1.0", "webonly==1.0", "--python", "3.11", "--dest", "wh",
                     "--json")
    assert result.returncode == 0, result.stderr
    document = manifest(tmp_path / "wh")
    assert {f["name"]: f["index"] for f in document["files"]} == {
        "beta": pypiserver.url, "webonly": extra_index}
    assert document["index_origin"] == {pypiserver.url: f"{conf} [global]",
                                        extra_index: f"{conf} [download]"}
    assert json.loads(result.stdout)["index_origin"] == document["index_origin"]


def test_wheelhouse_index_url_beats_pips(pypiserver, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", closed_index())
    monkeypatch.setenv("WHEELHOUSE_INDEX_URL", pypiserver.url)
    result = run_cli("prepare", "beta==1.0", "--dest", "wh")
    assert result.returncode == 0, result.stderr
    assert manifest(tmp_path / "wh")["index_origin"] == {pypiserver.url: "WHEELHOUSE_INDEX_URL"}
    assert f"{pypiserver.url} (from WHEELHOUSE_INDEX_URL)" in result.stdout


def test_credentials_in_pip_index_url_are_never_shown(pypiserver, run_cli, tmp_path,
                                                      monkeypatch):
    secret = "pw-9f3c1e"
    with_password = pypiserver.url.replace("http://", f"http://alice:{secret}@")
    monkeypatch.setenv("PIP_INDEX_URL", with_password)
    monkeypatch.setenv("PIP_FIND_LINKS", f"https://alice:{secret}@links.example/wheels.html")
    shown = pypiserver.url.replace("http://", "http://alice:****@")
    texts = []
    for extra in ([], ["--json"]):
        result = run_cli("prepare", "alpha==1.0", "--python", "3.11", "--dest", "wh", *extra)
        assert result.returncode == 0, result.stderr
        texts += [result.stdout, result.stderr]
    assert f"index:    {shown} (from PIP_INDEX_URL)" in texts[0]
    assert "https://alice:****@links.example/wheels.html (from PIP_FIND_LINKS) is not used" \
        in texts[1]
    assert json.loads(texts[2])["index_origin"] == {shown: "PIP_INDEX_URL"}
    document = manifest(tmp_path / "wh")
    assert document["index_origin"] == {shown: "PIP_INDEX_URL"}
    assert {f["index"] for f in document["files"]} == {shown}
    # and where the index cannot be reached
    monkeypatch.setenv("PIP_INDEX_URL", closed_index().replace("http://",
                                                               f"http://alice:{secret}@"))
    failed = run_cli("prepare", "beta==1.0", "--dest", "wh2")
    assert failed.returncode == 3 and "alice:****@" in failed.stderr
    texts += [failed.stdout, failed.stderr]
    texts += [p.read_text(errors="replace") for p in (tmp_path / "wh").rglob("*")
              if p.is_file()]
    assert not [text for text in texts if secret in text]


def test_pips_web_find_links_is_a_warning_in_the_summary_too(pypiserver, run_cli, tmp_path,
                                                             monkeypatch):
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "localonly", "1.0")
    monkeypatch.setenv("PIP_FIND_LINKS", f"https://download.example/whl.html {links}")
    result = run_cli("prepare", "localonly==1.0", "beta==1.0", "-i", pypiserver.url, "--dest",
                     "wh", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    (warning,) = [w for w in summary["warnings"] if "download.example" in w]
    assert "(from PIP_FIND_LINKS) is not used" in warning
    assert result.stderr.count("download.example") == 1  # said once, when the run starts
    assert summary["find_links_origin"] == {str(links): "PIP_FIND_LINKS"}
    document = manifest(tmp_path / "wh")
    assert document["find_links"] == [str(links)]
    assert {f["name"]: f["index"] for f in document["files"]}["localonly"] == str(links)


def test_pips_no_index_prepares_from_pips_find_links_alone(run_cli, tmp_path, monkeypatch):
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "localonly", "1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "true")
    monkeypatch.setenv("PIP_FIND_LINKS", f"file://{links}")
    result = run_cli("prepare", "localonly==1.0", "--dest", "wh")
    assert result.returncode == 0, result.stderr
    document = manifest(tmp_path / "wh")
    assert (document["index_urls"], document["index_origin"]) == ([], {})
    assert "index:    none (only the find-links folders)" in result.stdout
    assert f"find-links: {links} (from PIP_FIND_LINKS)" in result.stdout
    monkeypatch.delenv("PIP_FIND_LINKS")
    nothing = run_cli("prepare", "localonly==1.0", "--dest", "wh2")
    assert nothing.returncode == 2
    assert "no-index, from PIP_NO_INDEX" in nothing.stderr


def test_an_airflow_folder_is_told_its_build_args(pypiserver, run_cli, tmp_path):
    result = run_cli("prepare", "apache-airflow==2.10.3", "--python", "3.11", "--uv-version",
                     "0.4.1", "-i", pypiserver.url, "--dest", "ctx")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("next: wheelhouse verify ctx")
    assert lines[at + 1] == "      wheelhouse build-args ctx"


def test_a_missing_ca_bundle_is_one_sentence_naming_its_origin(pypiserver, run_cli, tmp_path,
                                                               monkeypatch):
    missing = run_cli("prepare", "beta==1.0", "-i", pypiserver.url, "--cert",
                      str(tmp_path / "ca.pem"), "--dest", "wh")
    assert missing.returncode == 2
    assert f"--cert {tmp_path / 'ca.pem'}: no such file" in missing.stderr
    monkeypatch.setenv("PIP_CERT", str(tmp_path / "pip-ca.pem"))
    from_pip = run_cli("prepare", "beta==1.0", "-i", pypiserver.url, "--dest", "wh")
    assert from_pip.returncode == 2
    assert "(from PIP_CERT)" in from_pip.stderr and "pip-ca.pem" in from_pip.stderr


# -- trust ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate a CA of the test's own signs: (its
    URL, the CA's bundle)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.timezone.utc)

    def certificate(subject: str, key, issuer: str, issuer_key, ca: bool):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        else:
            import ipaddress
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), \
        ec.generate_private_key(ec.SECP256R1())
    ca = certificate("wheelhouse test CA", ca_key, "wheelhouse test CA", ca_key, True)
    server = certificate("127.0.0.1", server_key, "wheelhouse test CA", ca_key, False)
    bundle, chain, key = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    bundle.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            """A client that refuses the certificate hangs up: not an error here."""

    httpd = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/", bundle
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch(session: net.Session, url: str) -> str:
    try:
        return session.get(url, timeout=10).text
    except requests.exceptions.SSLError:
        return "refused"


def test_cert_is_the_bundle_trusted_whatever_requests_ca_bundle_says(tls_server, monkeypatch):
    url, bundle = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert fetch(net.make_session(), url) == "refused"  # neither the system nor certifi
    assert fetch(net.make_session(cert=str(bundle)), url) == "ok"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    assert fetch(net.make_session(cert=str(bundle)), url) == "ok"  # --cert wins
    assert fetch(net.make_session(), url) == "refused"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # as before: requests reads it
    assert fetch(net.make_session(), url) == "ok"


def test_the_system_store_is_trusted_through_truststore(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    adapter = net.make_session().get_adapter("https://pypi.org/simple/")
    context = adapter._ssl_context  # type: ignore[attr-defined]
    try:
        import truststore
    except ImportError:  # Python 3.9: requests' certifi, as before
        assert context is None
        return
    assert isinstance(context, truststore.SSLContext)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    assert net.make_session().get_adapter("https://x/")._ssl_context is None  # type: ignore


def test_without_truststore_requests_certifi_as_before(monkeypatch):
    import sys

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setitem(sys.modules, "truststore", None)  # as on Python 3.9: not installed
    net.system_trust.cache_clear()
    try:
        assert net.system_trust() is None
        assert net.make_session().get_adapter("https://x/")._ssl_context is None  # type: ignore
    finally:
        net.system_trust.cache_clear()


def test_proxies_from_the_environment_still_apply(web, monkeypatch):
    for key in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HTTP_PROXY", web.url)
    web.file("http://files.example.invalid/page", b"through the proxy")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    for cert in (None, requests.certs.where()):  # the system's store, then a bundle
        session = net.make_session(cert=cert)
        assert session.get("http://files.example.invalid/page", timeout=10).text == \
            "through the proxy"
    assert web.hits == ["http://files.example.invalid/page"] * 2
