"""The folder as an SBOM: CycloneDX 1.6 (JSON or XML) or SPDX 2.3 (JSON), built offline.

The caller (`wheelhouse sbom`) reads the folder, its manifest and each wheel's METADATA, hashes
every file, and hands this module an `SbomInput`. Nothing here touches the disk or the network:
the document is built with the format's own library (cyclonedx-python-lib, spdx-tools), never by
hand, and checked against that format's schema before it is returned.

Where each fact comes from, and where it lands:

- the file itself (name, size, SHA-256, checked by the caller): CycloneDX component bom-ref,
  hash and `wheelhouse:size`; SPDX package id, file name and checksum.
- the manifest (`created`, targets, requirements, where each file was downloaded from, why it is
  there, what built it): document timestamp; CycloneDX metadata properties `wheelhouse:target`,
  `wheelhouse:requirement`, `wheelhouse:manifest-sha256`; per component the distribution URL,
  `wheelhouse:kind`, `wheelhouse:built-here`, `wheelhouse:target`, `wheelhouse:required-by`,
  `wheelhouse:built-from`, `wheelhouse:upload-time`; in SPDX the download location, the package
  comment and the relationships. The manifest's SHA-256 makes the SPDX namespace and the CycloneDX
  serial number, so the same folder always gives the same document.
- METADATA (untrusted): name, version, summary, author, supplier (Maintainer, else Author) and the
  license. A license that is a valid SPDX expression is stated as such (CycloneDX: a license id,
  or an expression; SPDX: licenseDeclared, with an extracted-licensing entry per LicenseRef-);
  anything else is NOASSERTION in SPDX (the declared text goes to licenseComments) and, in
  CycloneDX, no license but the property `wheelhouse:license-declared`.
- the dependency graph: X depends on Y when X's project is in Y's `required_by` (extras dropped);
  every file of X depends on every file of Y. The folder (CycloneDX metadata component,
  `SPDXRef-DOCUMENT DESCRIBES`) points at the roots: files nothing in the folder needs, plus one
  file of any cycle nothing else reaches, so every file is reachable from the top.

CycloneDX: the folder is the metadata component (type application, named after the folder, with
bom-ref `wheelhouse/folder`, which no file can have); the requirements and targets are metadata
properties; wheelhouse is the one tool (tools.components). SPDX: the same folder facts go to the
creator comment; a file's facts without an SPDX field go to the package comment, one per line.

Text from METADATA may hold any unicode: control characters are dropped (XML cannot carry them),
as are bidirectional overrides; free text is cut to 1,000 characters. SPDX actors cannot carry
parentheses (they delimit the e-mail), so an author's or supplier's parentheses become brackets
there. A download URL is kept only when it is a plain absolute http(s)/file URL both schemas take
whole (SPDX further needs a host with a dotted name, else NOASSERTION and the URL in the comment).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
import sys
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cyclonedx.exception import MissingOptionalDependencyException
from cyclonedx.exception.model import InvalidUriException
from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.spdx import is_supported_id
from cyclonedx.validation import SchemabasedValidator
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.validation.xml import XmlValidator
from packageurl import PackageURL
from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.utils import canonicalize_name, canonicalize_version

from wheelhouse.errors import InputError

if TYPE_CHECKING:
    from spdx_tools.spdx.model import Document, ExtractedLicensingInfo, Package

FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json")
_KINDS = ("wheel", "sdist", "built-wheel")

_TEXT_LIMIT = 1000  # characters kept of any one string from METADATA
_URL_LIMIT = 8000
_SPDX_NAMESPACE = "https://wheelhouse.invalid/spdx/"
_SERIAL_NAMESPACE = "https://wheelhouse.invalid/cyclonedx/"
_ROOT_REF = "wheelhouse/folder"  # holds a '/', so no file in the folder can be named so

# what XML cannot carry (C0/C1 controls, surrogates, U+FFFE/F) and what reorders text on screen
_DROP = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
_BLANK = re.compile("[\t\n\r\x85\u2028\u2029]+")
_URL_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_HEX64 = re.compile("[0-9a-fA-F]{64}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:([Zz])|([+-])(\d\d):(\d\d))"
)
_PERSON = re.compile(r"(?P<name>[^<>]*?)\s*<(?P<email>[^<>()\s@]+@[^<>()\s@]+)>")
_SPDX_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")
_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")


class SbomInvalid(RuntimeError):
    """The document this module built fails its own schema: a bug here, never the user's."""


@dataclass(frozen=True)
class Component:
    """One file of the folder, as the caller read and checked it."""

    filename: str  # unique in the folder: the bom-ref, and the basis of the SPDX id
    name: str  # canonical project name
    version: str
    sha256: str  # hex, of the file itself
    size: int
    url: str  # where it was downloaded from; "" when unknown
    kind: str  # "wheel" | "sdist" | "built-wheel" (built here from an sdist)
    built_here: bool
    author: str | None  # METADATA Author / Author-email, one display string
    supplier: str | None  # METADATA Maintainer, else Author
    license_spdx: str  # a canonical SPDX expression, or "unknown"
    license_raw: str | None  # the declared value, for humans
    required_by: tuple[str, ...]  # projects (maybe with an extra) that need it; () for a root
    targets: tuple[str, ...]  # e.g. "cp311-manylinux_2_28_x86_64"
    upload_time: str | None  # RFC 3339, from the index
    summary: str | None


@dataclass(frozen=True)
class SbomInput:
    """The folder as the caller read it: everything the document says, nothing to look up."""

    tool_version: str  # wheelhouse's version
    created: str  # the manifest's RFC 3339 `created`: the document's timestamp
    manifest_sha256: str  # hex: names the document (SPDX namespace, CycloneDX serial)
    folder_name: str
    targets: tuple[str, ...]
    requirements: tuple[str, ...]  # what the user asked for
    components: tuple[Component, ...]


@dataclass(frozen=True)
class Rendered:
    """The document, and whether its schema check ran (lxml may be missing for XML)."""

    text: str
    validated: bool
    schema: str  # the schema that applies; it was checked only when `validated`


@dataclass(frozen=True)
class _Person:
    name: str
    email: str | None


@dataclass(frozen=True)
class _Entry:
    """A component, cleaned, with the names the documents give it."""

    component: Component
    project: str
    ref: str
    spdx_id: str
    purl: PackageURL
    author: _Person | None
    license: str | None  # a valid SPDX expression, or None when there is none to state


@dataclass(frozen=True)
class _Plan:
    """What both formats say, decided once: cleaned text, ids, and the graph."""

    sbom: SbomInput
    created: dt.datetime
    entries: tuple[_Entry, ...]
    edges: tuple[tuple[int, ...], ...]  # per entry: the entries it depends on
    roots: tuple[int, ...]  # what the folder itself points at
    built_from: dict[int, int]  # a wheel built here -> the sdist in the folder it came from


def render(sbom: SbomInput, format: str) -> Rendered:
    """The folder's SBOM in `format`, checked against that format's schema before it leaves."""
    if format not in FORMATS:
        raise ValueError(f"unknown SBOM format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "spdx-json":
        _require_spdx_tools()
    plan = _plan(sbom)
    if format == "spdx-json":
        return _render_spdx(plan)
    return _render_cyclonedx(plan, OutputFormat.JSON if format == "cyclonedx-json" else
                             OutputFormat.XML)


# -- the plan: cleaning, ids, graph ------------------------------------------------------------


def _text(value: str, limit: int = _TEXT_LIMIT) -> str:
    """Untrusted text made safe for every format: no control characters, bounded length."""
    value = _DROP.sub("", _BLANK.sub(" ", value)).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _optional(value: str | None) -> str | None:
    cleaned = _text(value) if value is not None else ""
    return cleaned or None


def _required(value: str, what: str, filename: str) -> str:
    cleaned = _text(value)
    if not cleaned:
        raise ValueError(f"component {filename!r} has no usable {what}")
    return cleaned


def _url(value: str) -> str:
    """The download URL when both schemas take it as it is, else "" (unknown).

    A cut or scrubbed URL would point somewhere else, so it is kept whole or not at all: an
    absolute http(s) or file URL of plain RFC 3986 characters. No brackets, because
    cyclonedx-python-lib escapes them, which breaks an IPv6 host."""
    if not value or len(value) > _URL_LIMIT or not _URL_CHARACTERS.fullmatch(value) or \
            value.count("#") > 1:
        return ""
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https", "file") or \
            (parts.scheme.lower() != "file" and not parts.hostname):
        return ""
    return value


def _created(value: str) -> dt.datetime:
    match = _RFC3339.fullmatch(value.strip())
    if not match:
        raise ValueError(f"created {value!r} is not an RFC 3339 timestamp")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    offset = dt.timedelta(0)
    if match.group(8):
        sign = 1 if match.group(8) == "+" else -1
        offset = sign * dt.timedelta(hours=int(match.group(9)), minutes=int(match.group(10)))
    try:
        stamp = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(offset))
    except ValueError as error:
        raise ValueError(f"created {value!r} is not an RFC 3339 timestamp") from error
    return stamp.astimezone(dt.timezone.utc)


def _clean(component: Component) -> Component:
    """The component with every string safe to write; refuses what breaks the caller's promise."""
    filename = _required(component.filename, "file name", component.filename)
    if not _HEX64.fullmatch(component.sha256):
        raise ValueError(f"component {filename!r}: sha256 is not 64 hex digits")
    if isinstance(component.size, bool) or not isinstance(component.size, int) or \
            component.size < 0:
        raise ValueError(f"component {filename!r}: size is not a byte count")
    if component.kind not in _KINDS:
        raise ValueError(f"component {filename!r}: kind {component.kind!r} is not one of {_KINDS}")
    return replace(
        component,
        filename=filename,
        sha256=component.sha256.lower(),
        name=_required(component.name, "name", filename),
        version=_required(component.version, "version", filename),
        url=_url(component.url),
        author=_optional(component.author),
        supplier=_optional(component.supplier),
        license_spdx=component.license_spdx.strip(),
        license_raw=_optional(component.license_raw),
        required_by=tuple(filter(None, map(_text, component.required_by))),
        targets=tuple(filter(None, map(_text, component.targets))),
        upload_time=_optional(component.upload_time),
        summary=_optional(component.summary),
    )


def _person(display: str | None) -> _Person | None:
    """'Jane Doe <jane@example.org>' split in two; anything else is a name as it stands."""
    if not display:
        return None
    match = _PERSON.fullmatch(display)
    if not match:
        return _Person(display, None)
    return _Person(match.group("name") or match.group("email"), match.group("email"))


def _license(expression: str) -> str | None:
    """The caller's SPDX expression when it is one (PEP 639 rules), else None: nothing to state."""
    if not expression or expression == "unknown":
        return None
    try:
        return str(canonicalize_license_expression(expression))
    except InvalidLicenseExpression:
        return None


def _unique(wanted: Iterable[str], taken: set[str]) -> list[str]:
    """Each wanted id, with -2, -3, ... appended where an earlier one already has it."""
    result = []
    for base in wanted:
        candidate, counter = base, 1
        while candidate in taken:
            counter += 1
            candidate = f"{base}-{counter}"
        taken.add(candidate)
        result.append(candidate)
    return result


def _purl(component: Component) -> PackageURL:
    return PackageURL(type="pypi", name=component.name, version=component.version,
                      qualifiers={"file_name": component.filename})


def _required_project(entry: str) -> str:
    """'apache-airflow[amazon]' -> 'apache-airflow': the graph links projects, not extras."""
    return canonicalize_name(entry.split("[", 1)[0].strip())


def _edges(entries: Sequence[_Entry]) -> tuple[tuple[int, ...], ...]:
    by_project: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        by_project.setdefault(entry.project, []).append(index)
    children: list[set[int]] = [set() for _ in entries]
    for child, entry in enumerate(entries):
        for needed_by in entry.component.required_by:
            parent_project = _required_project(needed_by)
            if parent_project == entry.project:
                continue  # a project needing itself through an extra is no edge
            for parent in by_project.get(parent_project, ()):
                children[parent].add(child)
    return tuple(tuple(sorted(each)) for each in children)


def _roots(edges: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """Files nothing here needs, then one file per cycle still unreached: all become reachable."""
    needed = {child for each in edges for child in each}
    roots = [index for index in range(len(edges)) if index not in needed]
    reached: set[int] = set()

    def reach(start: int) -> None:
        stack = [start]
        while stack:
            index = stack.pop()
            if index not in reached:
                reached.add(index)
                stack.extend(edges[index])

    for root in roots:
        reach(root)
    for index in range(len(edges)):
        if index not in reached:
            roots.append(index)
            reach(index)
    return tuple(roots)


def _built_from(entries: Sequence[_Entry]) -> dict[int, int]:
    def key(entry: _Entry) -> tuple[str, str]:
        return entry.project, canonicalize_version(entry.component.version)

    sdists: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        if entry.component.kind == "sdist":
            sdists.setdefault(key(entry), index)
    return {index: sdists[key(entry)] for index, entry in enumerate(entries)
            if entry.component.kind == "built-wheel" and key(entry) in sdists}


def _plan(sbom: SbomInput) -> _Plan:
    counts = Counter(component.filename for component in sbom.components)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"file {duplicates[0]!r} appears more than once")
    if not _HEX64.fullmatch(sbom.manifest_sha256):
        raise ValueError("manifest_sha256 is not 64 hex digits")
    components = sorted(map(_clean, sbom.components), key=lambda each: each.filename)
    refs = _unique((each.filename for each in components), {_ROOT_REF})
    spdx_ids = _unique(("SPDXRef-" + _SPDX_ID_UNSAFE.sub("-", each.filename)
                        for each in components), {"SPDXRef-DOCUMENT"})
    entries = tuple(
        _Entry(component=each, project=canonicalize_name(each.name), ref=ref, spdx_id=spdx_id,
               purl=_purl(each), author=_person(each.author), license=_license(each.license_spdx))
        for each, ref, spdx_id in zip(components, refs, spdx_ids)
    )
    cleaned = replace(
        sbom,
        tool_version=_text(sbom.tool_version) or "unknown",
        manifest_sha256=sbom.manifest_sha256.lower(),
        folder_name=_text(sbom.folder_name) or "wheelhouse",
        targets=tuple(filter(None, map(_text, sbom.targets))),
        requirements=tuple(filter(None, map(_text, sbom.requirements))),
        components=tuple(components),
    )
    edges = _edges(entries)
    return _Plan(sbom=cleaned, created=_created(sbom.created), entries=entries, edges=edges,
                 roots=_roots(edges), built_from=_built_from(entries))


def _facts(plan: _Plan, index: int) -> list[tuple[str, str]]:
    """The wheelhouse facts about one file that neither format has a field for."""
    entry = plan.entries[index]
    component = entry.component
    facts = [("kind", component.kind), ("built-here", "true" if component.built_here else "false"),
             ("size", str(component.size))]
    facts += [("target", target) for target in component.targets]
    facts += [("required-by", needed_by) for needed_by in component.required_by]
    if component.upload_time:
        facts.append(("upload-time", component.upload_time))
    if index in plan.built_from:
        facts.append(("built-from", plan.entries[plan.built_from[index]].component.filename))
    return facts


# -- CycloneDX ---------------------------------------------------------------------------------


def _render_cyclonedx(plan: _Plan, output: OutputFormat) -> Rendered:
    bom = _bom(plan)
    try:
        text = make_outputter(bom, output, SchemaVersion.V1_6).output_as_string(indent=2)
    except Exception as error:  # the library refused the model this module built
        raise SbomInvalid(f"cyclonedx-python-lib could not write the SBOM: {error}") from error
    validator: SchemabasedValidator
    if output is OutputFormat.JSON:
        schema, validator = "CycloneDX 1.6 JSON schema", _JsonValidator(SchemaVersion.V1_6)
    else:
        schema, validator = "CycloneDX 1.6 XML schema", XmlValidator(SchemaVersion.V1_6)
    try:
        first = validator.validate_str(text)
    except MissingOptionalDependencyException:  # lxml is a test dependency only
        return Rendered(text=text, validated=False, schema=schema)
    except Exception as failure:  # e.g. the XML does not even parse
        raise SbomInvalid(f"the SBOM fails the {schema}: {failure}") from failure
    if first is not None:
        raise SbomInvalid(f"the SBOM fails the {schema}: {first}")
    return Rendered(text=text, validated=True, schema=schema)


# RFC 3986 URLs of a plain shape (a host name or address, a port, then path, query and
# fragment of unreserved, sub-delims and percent-escapes): every one is an IRI reference.
_PLAIN_URL = re.compile(
    r"(?:https?|file)://"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)?"
    r"(?::[0-9]{1,5})?"
    r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*"
    r"(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?"
    r"(?:\#(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?")


class _JsonValidator(JsonStrictValidator):
    """CycloneDX's strict JSON validator, whose IRI check costs 70 ms a URL (its grammar
    parser): 20 s for Airflow's 280 files. A URL of the plain shape above is an IRI reference
    by RFC 3986's grammar and passes at once; anything else still gets the full check."""

    @property
    def _validator(self) -> Any:
        from jsonschema import FormatChecker

        full = super()._validator
        checker = FormatChecker(formats=())
        checker.checkers = dict(full.format_checker.checkers)
        exact, raises = checker.checkers["iri-reference"]
        checker.checkers["iri-reference"] = (
            lambda value: (isinstance(value, str) and _PLAIN_URL.fullmatch(value) is not None)
            or exact(value), raises)
        return full.evolve(format_checker=checker)


def _bom(plan: _Plan) -> Bom:
    sbom = plan.sbom
    root = CdxComponent(type=ComponentType.APPLICATION, name=sbom.folder_name, bom_ref=_ROOT_REF,
                        description="An air-gapped wheel folder prepared by wheelhouse.")
    components = [_cdx_component(plan, index) for index in range(len(plan.entries))]
    dependencies = [
        Dependency(ref=components[index].bom_ref,
                   dependencies=[Dependency(ref=components[child].bom_ref) for child in children])
        for index, children in enumerate(plan.edges)
    ]
    dependencies.append(Dependency(
        ref=root.bom_ref,
        dependencies=[Dependency(ref=components[index].bom_ref) for index in plan.roots]))
    tool = CdxComponent(type=ComponentType.APPLICATION, name="wheelhouse",
                        version=sbom.tool_version)
    properties = [Property(name="wheelhouse:target", value=target) for target in sbom.targets]
    properties += [Property(name="wheelhouse:requirement", value=requirement)
                   for requirement in sbom.requirements]
    properties.append(Property(name="wheelhouse:manifest-sha256", value=sbom.manifest_sha256))
    metadata = BomMetaData(timestamp=plan.created, tools=ToolRepository(components=[tool]),
                           component=root, properties=properties)
    serial = uuid.uuid5(uuid.NAMESPACE_URL, _SERIAL_NAMESPACE + sbom.manifest_sha256)
    return Bom(serial_number=serial, metadata=metadata, components=components,
               dependencies=dependencies)


def _cdx_component(plan: _Plan, index: int) -> CdxComponent:
    entry = plan.entries[index]
    component = entry.component
    properties = [Property(name=f"wheelhouse:{name}", value=value)
                  for name, value in _facts(plan, index)]
    if entry.license is None and component.license_raw:
        properties.append(Property(name="wheelhouse:license-declared",
                                   value=component.license_raw))
    return CdxComponent(
        type=ComponentType.LIBRARY,
        name=component.name,
        version=component.version,
        bom_ref=entry.ref,
        purl=entry.purl,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=component.sha256)],
        external_references=_cdx_distribution(component.url),
        supplier=OrganizationalEntity(name=component.supplier) if component.supplier else None,
        authors=[OrganizationalContact(name=entry.author.name, email=entry.author.email)]
        if entry.author else None,
        licenses=_cdx_licenses(entry.license),
        description=component.summary,
        properties=properties,
    )


def _cdx_distribution(url: str) -> list[ExternalReference]:
    if not url:
        return []
    try:
        return [ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url))]
    except InvalidUriException:
        return []


def _cdx_licenses(expression: str | None) -> list[License]:
    """One listed SPDX id as a license id, anything compound (or a LicenseRef) as an expression."""
    if expression is None:
        return []
    if is_supported_id(expression):
        return [DisjunctiveLicense(id=expression)]
    return [LicenseExpression(expression)]


# -- SPDX --------------------------------------------------------------------------------------

_SPDX_SCHEMA = "SPDX 2.3 rules (spdx-tools' validator)"


def _require_spdx_tools() -> None:
    """spdx-tools needs Python 3.10; say so in one sentence rather than fail on an import."""
    if sys.version_info < (3, 10):
        raise InputError("The spdx-json format needs Python 3.10 or later; "
                         "use cyclonedx-json or cyclonedx-xml on this Python.")
    try:
        import spdx_tools.spdx.model  # noqa: F401
    except ImportError as error:
        raise InputError("The spdx-json format needs the spdx-tools package, which is not "
                         "installed: pip install 'wheelhouse-airgap[spdx]' (or use "
                         "cyclonedx-json or cyclonedx-xml).") from error


def _render_spdx(plan: _Plan) -> Rendered:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    stream = io.StringIO()
    try:
        write_document_to_stream(_spdx_document(plan), stream, validate=False)
    except Exception as failure:  # the library refused the model this module built
        raise SbomInvalid(f"spdx-tools could not write the SBOM: {failure}") from failure
    text = stream.getvalue()
    # The written text is what is checked: read back as a consumer would, then validated (once:
    # spdx-tools' validator takes time in packages x relationships).
    try:
        written = JsonLikeDictParser().parse(json.loads(text))
    except SPDXParsingError as failure:
        raise SbomInvalid("the SPDX document does not read back: "
                          f"{failure.get_messages()[:1]}") from failure
    _spdx_check(written)
    return Rendered(text=text, validated=True, schema=_SPDX_SCHEMA)


def _spdx_check(document: Document) -> None:
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        messages = validate_full_spdx_document(document)
    except Exception as failure:  # the validator itself tripped on what this module wrote
        raise SbomInvalid(f"spdx-tools could not validate the SBOM: {failure}") from failure
    if messages:
        raise SbomInvalid(f"the SPDX document is invalid: {messages[0].validation_message}")


def _spdx_document(plan: _Plan) -> Document:
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        Relationship,
        RelationshipType,
        SpdxNone,
    )

    sbom = plan.sbom
    creation = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT",
        name=f"wheelhouse-{sbom.folder_name}",
        document_namespace=_SPDX_NAMESPACE + sbom.manifest_sha256,
        creators=[Actor(ActorType.TOOL, _actor_name(f"wheelhouse-{sbom.tool_version}"))],
        created=plan.created, data_license="CC0-1.0",
        creator_comment=_spdx_creator_comment(sbom),
    )
    ids = [entry.spdx_id for entry in plan.entries]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, ids[index])
                     for index in plan.roots]
    if not plan.entries:  # SPDX wants the document to describe something, even nothing
        relationships.append(
            Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, SpdxNone()))
    relationships += [Relationship(ids[index], RelationshipType.DEPENDS_ON, ids[child])
                      for index, children in enumerate(plan.edges) for child in children]
    relationships += [Relationship(ids[wheel], RelationshipType.GENERATED_FROM, ids[sdist])
                      for wheel, sdist in sorted(plan.built_from.items())]
    packages = [_spdx_package(plan, index) for index in range(len(plan.entries))]
    document = Document(creation, packages=packages, relationships=relationships)
    _spdx_settle_licenses(plan, document)
    return document


def _spdx_creator_comment(sbom: SbomInput) -> str:
    lines = [f"Air-gapped wheel folder {sbom.folder_name}, prepared by wheelhouse."]
    lines += [f"requirement: {requirement}" for requirement in sbom.requirements]
    lines += [f"target: {target}" for target in sbom.targets]
    lines.append(f"manifest sha256: {sbom.manifest_sha256}")
    return "\n".join(lines)


def _actor_name(name: str) -> str:
    """SPDX writes an actor as 'Person: name (email)': a parenthesis in the name would split it."""
    return name.replace("(", "[").replace(")", "]").strip() or "unknown"


def _spdx_package(plan: _Plan, index: int) -> Package:
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        Checksum,
        ChecksumAlgorithm,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.license_expression_parser import (
        LicenseExpressionParser,
    )
    from spdx_tools.spdx.validation.uri_validators import validate_download_location

    entry = plan.entries[index]
    component = entry.component
    declared: Any = SpdxNoAssertion()
    if entry.license is not None:
        with contextlib.suppress(SPDXParsingError):  # settled below: then NOASSERTION
            declared = LicenseExpressionParser.parse_license_expression(entry.license)
    url = component.url
    location = url if url and not validate_download_location(url) else SpdxNoAssertion()
    comment = "\n".join(f"{name}: {value}" for name, value in _facts(plan, index))
    if url and isinstance(location, SpdxNoAssertion):
        comment += f"\ndownloaded from: {url}"
    author = entry.author
    return Package(
        spdx_id=entry.spdx_id,
        name=component.name,
        download_location=location,
        version=component.version,
        file_name=component.filename,
        supplier=Actor(ActorType.ORGANIZATION, _actor_name(component.supplier))
        if component.supplier else SpdxNoAssertion(),
        originator=Actor(ActorType.PERSON, _actor_name(author.name), author.email)
        if author else None,
        files_analyzed=False,
        checksums=[Checksum(ChecksumAlgorithm.SHA256, component.sha256)],
        license_concluded=SpdxNoAssertion(),
        license_declared=declared,
        summary=component.summary,
        comment=comment,
        external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER,
                                                "purl", entry.purl.to_string())],
        primary_package_purpose=PackagePurpose.SOURCE if component.kind == "sdist"
        else PackagePurpose.LIBRARY,
    )


def _spdx_settle_licenses(plan: _Plan, document: Document) -> None:
    """Each declared license as spdx-tools' validator accepts it, or NOASSERTION.

    Every LicenseRef- gets an extracted-licensing entry; an expression the validator still
    refuses (e.g. an SPDX id newer than its license list) is not stated, only commented.
    """
    from spdx_tools.spdx.model import SpdxNoAssertion
    from spdx_tools.spdx.validation.license_expression_validator import (
        validate_license_expression,
    )

    wanted = {ref for entry in plan.entries if entry.license
              for ref in _LICENSE_REF.findall(entry.license)}
    document.extracted_licensing_info = [_spdx_extracted(ref) for ref in sorted(wanted)]
    used: set[str] = set()
    for entry, package in zip(plan.entries, document.packages):
        stated = not isinstance(package.license_declared, SpdxNoAssertion)
        if stated:
            try:
                stated = not validate_license_expression(package.license_declared, document,
                                                         package.spdx_id)
            except Exception:  # license-expression trips over some input; then state nothing
                stated = False
        if stated:
            used.update(_LICENSE_REF.findall(entry.license or ""))
            continue
        package.license_declared = SpdxNoAssertion()
        declared = entry.license or entry.component.license_raw
        if declared:
            package.license_comment = f"declared: {declared}"
    document.extracted_licensing_info = [_spdx_extracted(ref) for ref in sorted(used)]


def _spdx_extracted(ref: str) -> ExtractedLicensingInfo:
    from spdx_tools.spdx.model import ExtractedLicensingInfo

    return ExtractedLicensingInfo(
        license_id=ref,
        extracted_text=f"{ref}: a license named in a package's METADATA; its text is not part "
                       "of this document.",
    )
