"""Where files come from: pip's own index settings, and wheelhouse's precedence over them.

`read_pip_settings` reads what `pip download` would use: pip's configuration files (the
global, user, site and PIP_CONFIG_FILE files, in pip's order; PIP_CONFIG_FILE=os.devnull
means none), their `[global]` then `[download]` section (the command's section wins), then
the `PIP_*` environment variables, which win over every file. It asks pip's own
`Configuration` when pip can be imported and answers as expected, and otherwise reads the
files at pip's documented locations with configparser. Isolated (prepare --isolated, or
PIP_ISOLATED_MODE) nothing of pip's is read.

`resolve_sources` then decides, setting by setting and without any I/O: the flags
(-i/--index-url, --extra-index-url, -f/--find-links, --cert), then WHEELHOUSE_INDEX_URL (the
index URL only), then pip's settings, then PyPI. A flag replaces pip's value for its
setting; it does not add to it. Each value says where it came from (`origins`), in words
that never carry a password.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from wheelhouse import net
from wheelhouse.errors import InputError
from wheelhouse.index import PYPI

WHEELHOUSE_INDEX_URL = "WHEELHOUSE_INDEX_URL"
ISOLATED_ENV = "PIP_ISOLATED_MODE"
DEFAULT = "default"  # the origin of PyPI when nothing names an index
# The settings read, as pip names them in a file ("index-url") and in the environment
# (PIP_INDEX_URL). pip splits the values of its repeatable options on whitespace.
INDEX_URL, EXTRA_INDEX_URL, FIND_LINKS, CERT, NO_INDEX = (
    "index-url", "extra-index-url", "find-links", "cert", "no-index")
SETTINGS = (INDEX_URL, EXTRA_INDEX_URL, FIND_LINKS, CERT, NO_INDEX)
LISTS = frozenset({EXTRA_INDEX_URL, FIND_LINKS})
# `pip download` reads [global], then its own command's section, then the environment.
SECTIONS = ("global", "download")
_ENV_SECTION = ":env:"
_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "off", "0"})
_WEB = ("http://", "https://")
_PASSWORD = re.compile(r"(://[^\s/:@]*:)[^\s/@]+@")  # user:PASSWORD@ in a quoted URL


@dataclass(frozen=True)
class IndexSettings:
    """Where files come from, each setting with where it was found.

    `origins` maps a setting (`index-url`, `extra-index-url`, `find-links`, `cert`,
    `no-index`) to its source in words: "PIP_INDEX_URL", "/etc/pip.conf [global]",
    "--index-url", "WHEELHOUSE_INDEX_URL" or "default". `reader` says how pip's settings
    were read: "pip" (pip's own Configuration), "configparser" (pip's files read here), or
    "isolated" (not at all).
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    cert: str | None = None
    no_index: bool = False
    origins: dict[str, str] = field(default_factory=dict)
    reader: str = "isolated"

    def __repr__(self) -> str:  # a traceback or a log shows no password
        hidden = dataclasses.replace(
            self, index_url=None if self.index_url is None else net.redact(self.index_url),
            extra_index_urls=tuple(net.redact(url) for url in self.extra_index_urls),
            find_links=tuple(net.redact(link) for link in self.find_links))
        fields = ", ".join(f"{f.name}={getattr(hidden, f.name)!r}"
                           for f in dataclasses.fields(self))
        return f"IndexSettings({fields})"

    @property
    def index_urls(self) -> list[str]:
        """Every index, as pip lists them: the index URL first (none with no-index)."""
        first = [] if self.index_url is None or self.no_index else [self.index_url]
        return first + ([] if self.no_index else list(self.extra_index_urls))

    def index_origin(self) -> dict[str, str]:
        """Each index URL (its password hidden) -> where it came from."""
        found: dict[str, str] = {}
        for url in self.index_urls:
            setting = INDEX_URL if url == self.index_url else EXTRA_INDEX_URL
            found.setdefault(net.redact(url), self.origins.get(setting, DEFAULT))
        return found


@dataclass(frozen=True)
class Sources:
    """What a run fetches from, decided: the indexes, the find-links folders, the CA bundle
    (None: requests' REQUESTS_CA_BUNDLE, else the system's store), each with its origin, and
    what of pip's settings could not be used (warnings)."""

    settings: IndexSettings
    find_links: tuple[Path, ...]
    warnings: tuple[str, ...] = ()

    @property
    def index_urls(self) -> list[str]:
        return self.settings.index_urls

    @property
    def cert(self) -> str | None:
        return self.settings.cert

    def index_origin(self) -> dict[str, str]:
        return self.settings.index_origin()

    def find_links_origin(self) -> dict[str, str]:
        origin = self.settings.origins.get(FIND_LINKS, "--find-links")
        return {str(folder): origin for folder in self.find_links}


# -- precedence ---------------------------------------------------------------------------


def resolve_sources(
    *,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str | Path] = (),
    cert: str | Path | None = None,
    wheelhouse_index_url: str | None = None,
    pip: IndexSettings | None = None,
    isolated: bool = False,
    is_folder: Callable[[Path], bool] | None = None,
) -> Sources:
    """The sources of a run: for each setting, the flag, else WHEELHOUSE_INDEX_URL (the index
    URL only), else pip's setting (unless `isolated`), else the default (PyPI; no extra
    index, no find-links, no CA bundle). No I/O: `pip` is what read_pip_settings found.

    pip's no-index drops pip's indexes and PyPI, never an index a flag or
    WHEELHOUSE_INDEX_URL names. What of pip's settings wheelhouse cannot use (an index that
    is not http(s), a find-links that is a web page or, by `is_folder`, not a folder) is
    left out with a warning; such a flag or WHEELHOUSE_INDEX_URL is an InputError. Without
    `is_folder` (Path.is_dir in a run), find-links are not looked at: no I/O at all.
    """
    pip = IndexSettings() if pip is None or isolated else pip
    origins: dict[str, str] = {}
    warnings: list[str] = []

    chosen_url: str | None
    if index_url:
        chosen_url, origins[INDEX_URL] = _web_url(index_url, "--index-url"), "--index-url"
    elif wheelhouse_index_url and wheelhouse_index_url.strip():
        chosen_url = _web_url(wheelhouse_index_url.strip(), WHEELHOUSE_INDEX_URL)
        origins[INDEX_URL] = WHEELHOUSE_INDEX_URL
    elif pip.no_index:
        chosen_url = None
        origins[NO_INDEX] = pip.origins.get(NO_INDEX, "pip's configuration")
    elif pip.index_url:
        where = pip.origins.get(INDEX_URL, "pip's configuration")
        chosen_url = _usable_url(pip.index_url, where, INDEX_URL, warnings)
        if chosen_url is not None:
            origins[INDEX_URL] = where
    else:
        chosen_url, origins[INDEX_URL] = PYPI, DEFAULT

    extras: list[str] = []
    if extra_index_urls:
        extras = [_web_url(url, "--extra-index-url") for url in extra_index_urls]
        origins[EXTRA_INDEX_URL] = "--extra-index-url"
    elif pip.extra_index_urls and not pip.no_index:
        where = pip.origins.get(EXTRA_INDEX_URL, "pip's configuration")
        extras = [url for raw in pip.extra_index_urls
                  if (url := _usable_url(raw, where, EXTRA_INDEX_URL, warnings)) is not None]
        if extras:
            origins[EXTRA_INDEX_URL] = where

    folders: list[Path] = []
    if find_links:
        folders = [Path(folder) for folder in find_links]
        for given in folders:
            if is_folder is not None and not is_folder(given):
                raise InputError(f"--find-links {given} is not a folder.")
        origins[FIND_LINKS] = "--find-links"
    elif pip.find_links:
        where = pip.origins.get(FIND_LINKS, "pip's configuration")
        for raw in pip.find_links:
            local = _local_folder(raw, where, warnings)
            if local is not None and is_folder is not None and not is_folder(local):
                warnings.append(f"pip's find-links {local} (from {where}) is not used: it is "
                                "not a folder (pip passes over a missing one too).")
            elif local is not None:
                folders.append(local)
        if folders:
            origins[FIND_LINKS] = where

    chosen_cert: str | None = None
    if cert:
        chosen_cert, origins[CERT] = str(cert), "--cert"
    elif pip.cert:
        chosen_cert, origins[CERT] = pip.cert, pip.origins.get(CERT, "pip's configuration")

    settings = IndexSettings(
        index_url=chosen_url, extra_index_urls=tuple(extras),
        find_links=tuple(str(folder) for folder in folders), cert=chosen_cert,
        no_index=False, origins=origins, reader=pip.reader)
    if not settings.index_urls and not folders:
        said = f" ({'; '.join(warnings)})" if warnings else ""
        raise InputError(
            "nothing to fetch files from: pip's configuration names no index wheelhouse can "
            f"use{' (no-index, from ' + origins[NO_INDEX] + ')' if NO_INDEX in origins else ''}"
            f" and no find-links folder{said}. Give -i URL, or --isolated to ignore pip's "
            "configuration.")
    return Sources(settings, tuple(folders), tuple(warnings))


def _web_url(url: str, flag: str) -> str:
    """A URL the user gave wheelhouse itself: an http(s) index, or an InputError."""
    if not url.strip().lower().startswith(_WEB):
        raise InputError(f"{flag} {net.redact(url)} is not an http(s) URL: wheelhouse reads "
                         "indexes over http(s) only (a local folder of files is -f DIR).")
    return url.strip()


def _usable_url(url: str, where: str, setting: str, warnings: list[str]) -> str | None:
    """An index URL from pip's settings, or None (and a warning) when wheelhouse cannot use
    it: pip also reads file: indexes and bare paths, wheelhouse only http(s)."""
    if url.lower().startswith(_WEB):
        return url
    warnings.append(f"pip's {setting} {net.redact(url)} (from {where}) is not used: wheelhouse "
                    "reads indexes over http(s) only (give a local folder of files with -f "
                    "DIR, or --isolated to ignore pip's configuration).")
    return None


def _local_folder(value: str, where: str, warnings: list[str]) -> Path | None:
    """A find-links entry of pip's as a local path (a file: URL is one too), or None (and a
    warning): wheelhouse's find-links are folders, never web pages."""
    scheme = urlsplit(value).scheme.lower()
    if scheme == "file":
        return Path(url2pathname(unquote(urlsplit(value).path)))
    if len(scheme) > 1:  # a URL (a one-letter "scheme" is a Windows drive: C:\wheels)
        warnings.append(
            f"pip's find-links {net.redact(value)} (from {where}) is not used: wheelhouse "
            "takes find-links folders only, not web pages (give its index with "
            "--extra-index-url, or download its files into a folder and give it with -f).")
        return None
    return Path(os.path.expanduser(value))


# -- pip's settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """One setting as one source gave it: a file's section, or the environment."""

    section: str  # "global", "download" or ":env:"
    name: str
    value: str
    origin: str


def read_pip_settings(isolated: bool = False) -> IndexSettings:
    """pip's index settings as `pip download` resolves them (module docstring). Isolated
    (the argument, or PIP_ISOLATED_MODE set true): none at all."""
    if isolated or _is_true(os.environ.get(ISOLATED_ENV, "")):
        return IndexSettings(reader="isolated")
    try:
        values, reader = _through_pip(), "pip"
    except InputError:
        raise
    except Exception:  # pip's internals moved or broke: read its files ourselves
        values, reader = _through_configparser(), "configparser"
    return _settle(values, reader)


def _settle(values: Sequence[_Value], reader: str) -> IndexSettings:
    """pip's precedence: [global], then [download], then the environment; within one, a
    later file wins, and an empty value there removes what an earlier file said (as in
    pip: a section with no value leaves the one below it in force)."""
    kept: dict[str, _Value] = {}
    for section in (*SECTIONS, _ENV_SECTION):
        said: dict[str, _Value] = {}
        for item in values:
            if item.section == section and item.name in SETTINGS:
                said[item.name] = item
        kept.update({name: item for name, item in said.items() if item.value.strip()})
    origins = {name: item.origin for name, item in kept.items()}

    def one(name: str) -> str | None:
        return kept[name].value.strip() if name in kept else None

    def many(name: str) -> tuple[str, ...]:
        return tuple(kept[name].value.split()) if name in kept else ()

    no_index = False
    if NO_INDEX in kept:
        text = kept[NO_INDEX].value.strip().lower()
        if text not in _TRUE | _FALSE:
            raise InputError(f"pip's no-index {kept[NO_INDEX].value.strip()!r} (from "
                             f"{kept[NO_INDEX].origin}) is not true or false: pip refuses it "
                             "too.")
        no_index = text in _TRUE
        if not no_index:
            origins.pop(NO_INDEX)
    return IndexSettings(index_url=one(INDEX_URL), extra_index_urls=many(EXTRA_INDEX_URL),
                         find_links=many(FIND_LINKS), cert=one(CERT), no_index=no_index,
                         origins=origins, reader=reader)


def _is_true(text: str) -> bool:
    return text.strip().lower() in _TRUE


def _normalize(name: str) -> str:
    """A setting's name as pip compares them: `index_url`, `--index-url`, `INDEX-URL` alike."""
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def _env_name(name: str) -> str:
    """The environment variable that set `name`, as it is spelled in the environment."""
    for key in os.environ:
        if key.startswith("PIP_") and _normalize(key[4:]) == name:
            return key
    return "PIP_" + name.upper().replace("-", "_")


def _through_pip() -> list[_Value]:
    """pip's Configuration, loaded as pip loads it, read file by file so that each value
    keeps its origin. Recent pips keep their data per file (older ones per kind of file:
    the file is then found in the parsers pip kept); anything else raises, for the caller to read
    the files itself."""
    from pip._internal.configuration import OVERRIDE_ORDER, Configuration
    from pip._internal.exceptions import ConfigurationError

    try:
        config = Configuration(isolated=False)
        config.load()
    except ConfigurationError as exc:  # a pip.conf pip itself cannot read
        raise InputError(f"pip's configuration cannot be read: {_quoted(exc)} (pip download "
                         "would stop too; fix it, or give --isolated to ignore pip's "
                         "configuration).") from None
    values: list[_Value] = []
    for variant in OVERRIDE_ORDER:  # global, user, site, PIP_CONFIG_FILE, the environment
        data = config.get_values_in_config(variant)
        if not isinstance(data, dict):
            raise TypeError(f"pip's configuration of {variant} is a {type(data).__name__}")
        if all(isinstance(item, dict) for item in data.values()):  # {file: {key: value}}
            for source, items in data.items():
                values += _keyed(items, source)
        else:  # {key: value}: find the file of each in the parsers pip kept
            parsers = config._parsers[variant]
            for key, value in data.items():
                values += _keyed({key: value}, _file_of(parsers, key) or str(variant))
    return _unique(values)


def _quoted(exc: BaseException) -> str:
    """An error about a file, on one line, with any password in a URL it quotes hidden."""
    text = " ".join(str(exc).replace("\\n", " ").split())
    return _PASSWORD.sub(r"\1****@", text)


def _keyed(items: Mapping[str, object], source: str) -> list[_Value]:
    """pip's "section.name" keys of one source as values with their origin."""
    found = []
    for key, value in items.items():
        if not isinstance(key, str) or "." not in key:
            raise TypeError(f"pip's configuration has a key {key!r}")
        section, name = key.split(".", 1)
        name = _normalize(name)
        if section not in (*SECTIONS, _ENV_SECTION) or name not in SETTINGS:
            continue
        if not isinstance(value, str):
            raise TypeError(f"pip's configuration gives {key} as a {type(value).__name__}")
        origin = _env_name(name) if section == _ENV_SECTION else f"{source} [{section}]"
        found.append(_Value(section, name, value, origin))
    return found


def _file_of(parsers: Sequence[tuple[str, configparser.RawConfigParser]], key: str) -> str | None:
    """Of one kind's files (pip before 25 merges them), the last that sets `key`."""
    section, name = key.split(".", 1)
    for source, parser in reversed(parsers):
        if parser.has_section(section) and any(
                _normalize(option) == _normalize(name) for option in parser.options(section)):
            return source
    return None


def _unique(values: list[_Value]) -> list[_Value]:
    """Each value once, in order (a file pip lists under two kinds is read twice)."""
    return list(dict.fromkeys(values))


def _through_configparser() -> list[_Value]:
    """pip's files at pip's documented locations, read here, then the environment."""
    values: list[_Value] = []
    for source in config_files():
        parser = configparser.RawConfigParser()
        try:
            with open(source, encoding="utf-8") as handle:
                parser.read_file(handle, source)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise InputError(f"pip's configuration file {source} cannot be read: "
                             f"{_quoted(exc)} (fix it, or give --isolated to ignore pip's "
                             "configuration).") from None
        for section in SECTIONS:
            if parser.has_section(section):
                values += [_Value(section, _normalize(name), value, f"{source} [{section}]")
                           for name, value in parser.items(section)]
    for key, value in os.environ.items():
        if key.startswith("PIP_"):
            values.append(_Value(_ENV_SECTION, _normalize(key[4:]), value, key))
    return values


def config_files() -> list[str]:
    """pip's configuration files, lowest precedence first (pip's documentation, "Config
    file"): global, user (not when PIP_CONFIG_FILE names an existing file), site (the
    environment pip runs in: this one), then PIP_CONFIG_FILE. None when PIP_CONFIG_FILE is
    os.devnull."""
    named = os.environ.get("PIP_CONFIG_FILE")
    if named == os.devnull:
        return []
    home = Path.home()
    base = "pip.ini" if sys.platform == "win32" else "pip.conf"
    if sys.platform == "win32":
        program_data = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        global_files = [Path(program_data) / "pip" / base]
        appdata = os.environ.get("APPDATA", str(home / "AppData" / "Roaming"))
        user_files = [home / "pip" / base, Path(appdata) / "pip" / base]
    elif sys.platform == "darwin":
        global_files = [Path("/Library/Application Support/pip") / base]
        support = home / "Library" / "Application Support" / "pip"
        user_files = [home / ".pip" / base,
                      (support if support.is_dir() else home / ".config" / "pip") / base]
    else:
        dirs = os.environ.get("XDG_CONFIG_DIRS", "").strip() or "/etc/xdg"
        global_files = [Path(d) / "pip" / base for d in dirs.split(os.pathsep) if d]
        global_files.append(Path("/etc") / base)
        config_home = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(home / ".config")
        user_files = [home / ".pip" / base, Path(config_home) / "pip" / base]
    files = [str(path) for path in global_files]
    if not (named and os.path.exists(named)):
        files += [str(path) for path in user_files]
    files.append(str(Path(sys.prefix) / base))
    if named:
        files.append(named)
    return files
