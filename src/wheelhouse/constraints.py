"""Constraints: fetch them exactly as published, record what was fetched, parse every line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from wheelhouse import airflow, net
from wheelhouse.errors import InputError
from wheelhouse.manifest import ConstraintsRecord
from wheelhouse.target import MarkerError, Target


@dataclass(frozen=True)
class Pin:
    """One `name==version` line of a constraints file."""

    name: str
    version: str
    requirement: Requirement
    line: int


@dataclass
class Constraints:
    """A constraints file as downloaded (bytes kept verbatim) and as understood."""

    source: str
    content: bytes
    url: str | None = None
    path: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    airflow_mode: str | None = None
    pins: list[Pin] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def pins_for(self, target: Target) -> dict[str, Pin]:
        """Pins whose markers hold on the target, by normalized project name."""
        found: dict[str, Pin] = {}
        for pin in self.pins:
            marker = pin.requirement.marker
            try:
                if marker is not None and not target.judge(marker):
                    continue
            except MarkerError as exc:
                raise InputError(f"{self.source}, line {pin.line}: the marker {exc}.") from None
            other = found.get(pin.name)
            if other is not None and other.version != pin.version:
                raise InputError(
                    f"{self.source}: lines {other.line} and {pin.line} pin {pin.name} to "
                    f"both {other.version} and {pin.version} for {target.name}."
                )
            found[pin.name] = pin
        return found

    def record(self, filename: str) -> ConstraintsRecord:
        """The manifest's account of this file, whose verbatim copy is `filename`."""
        return ConstraintsRecord(
            source=self.source,
            url=net.redact(self.url) if self.url else None,
            path=self.path,
            sha256=self.sha256,
            size=len(self.content),
            etag=self.etag,
            last_modified=self.last_modified,
            pins=len(self.pins),
            filename=filename,
        )


def load_constraints(source: str, target: Target, session: net.Session) -> Constraints:
    """Fetch from a URL, a local path or `airflow:VERSION[:MODE]`, then parse.

    The source is kept (for the manifest, messages and the re-run digest) with its password
    hidden: only the request itself sees it.
    """
    mode = None
    location = source
    source = net.redact(source)
    if source.startswith("airflow:"):
        location = airflow.constraints_url(source, target.python)
        mode = airflow.constraints_mode(source)
    scheme = urlsplit(location).scheme
    if scheme in ("http", "https"):
        response = net.get(session, location, what=f"constraints file {source}",
                           limit=net.PAGE_LIMIT)
        assert response is not None
        constraints = Constraints(
            source=source,
            content=response.content,
            url=location,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )
    else:
        path = Path(unquote(urlsplit(location).path) if scheme == "file" else location)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"constraints file {location} does not exist.") from None
        except IsADirectoryError:
            raise InputError(f"constraints file {location} is a directory.") from None
        except OSError as exc:
            raise InputError(f"cannot read constraints file {location}: {exc.strerror}.") from None
        constraints = Constraints(source=source, content=content, path=str(path.resolve()))
    constraints.airflow_mode = mode
    constraints.pins = parse_constraints(constraints.content, source)
    return constraints


def parse_constraints(content: bytes, origin: str) -> list[Pin]:
    """Every line is a pin, a comment or blank; anything else names its file and line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{origin} is not UTF-8 text (byte {exc.start}).") from None
    pins: list[Pin] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        where = f"{origin}, line {number}"
        if line.startswith("-"):
            raise InputError(f"{where}: pip options such as {line.split()[0]!r} are not supported.")
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise InputError(f"{where}: {line!r} is not a valid pin ({exc}).") from None
        specs = list(requirement.specifier)
        if requirement.url or requirement.extras or len(specs) != 1 or specs[0].operator not in (
            "==",
            "===",
        ) or specs[0].version.endswith(".*"):
            raise InputError(f"{where}: {line!r} is not a pin of the form name==version.")
        pins.append(Pin(canonicalize_name(requirement.name), specs[0].version, requirement, number))
    return pins


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    hash_at = line.find(" #")
    if hash_at >= 0:
        line = line[:hash_at]
    return line.strip()
