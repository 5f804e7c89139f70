"""`wheelhouse.sbom`: each format read back with an independent reader, so what the document
says about every file (hash, purl, license, targets, what needs it) is checked, not assumed."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wheelhouse import sbom as sbom_module
from wheelhouse.errors import InputError
from wheelhouse.sbom import FORMATS, Component, Rendered, SbomInput, SbomInvalid, render

needs_spdx = pytest.mark.skipif(sys.version_info < (3, 10), reason="spdx-tools needs 3.10+")


def formats() -> list[Any]:
    return [pytest.param(name, marks=needs_spdx) if name == "spdx-json" else name
            for name in FORMATS]


X86 = "cp311-manylinux_2_28_x86_64"
ARM = "cp311-manylinux_2_28_aarch64"
MANIFEST_SHA = "ab" * 32
CDX_NS = {"c": "http://cyclonedx.org/schema/bom/1.6"}

AIRFLOW = "apache_airflow-2.10.3-py3-none-any.whl"
AMAZON = "apache_airflow_providers_amazon-9.0.0-py3-none-any.whl"
NUMPY_X86 = "numpy-2.1.3-cp311-cp311-manylinux_2_28_x86_64.whl"
NUMPY_ARM = "numpy-2.1.3-cp311-cp311-manylinux_2_28_aarch64.whl"
LEGACY_SDIST = "legacy_thing-1.0.tar.gz"
LEGACY_BUILT = "legacy_thing-1.0-cp311-cp311-linux_x86_64.whl"

HOSTILE_AUTHOR = ("Mallory \x00\x07\x1b[2J\U0001f608 \u202e" + "x\x85\x7f\t\n" * 1000)[:5000]

# what needs what, by file: the graph every format must carry
EDGES = {
    AIRFLOW: {AMAZON},
    AMAZON: {NUMPY_X86, NUMPY_ARM},
    NUMPY_X86: {LEGACY_SDIST, LEGACY_BUILT},
    NUMPY_ARM: {LEGACY_SDIST, LEGACY_BUILT},
    LEGACY_SDIST: set(),
    LEGACY_BUILT: set(),
}


def sha(filename: str) -> str:
    return hashlib.sha256(filename.encode()).hexdigest()


def component(filename: str, name: str, version: str, **fields: Any) -> Component:
    defaults: dict[str, Any] = dict(
        filename=filename, name=name, version=version, sha256=sha(filename), size=1234,
        url=f"https://files.pythonhosted.org/packages/ab/cd/{filename}", kind="wheel",
        built_here=False, author="Jane Doe <jane@example.org>", supplier="The Maintainers",
        license_spdx="Apache-2.0", license_raw="Apache-2.0", required_by=(),
        targets=(X86, ARM), upload_time="2024-11-04T12:00:00.123456Z",
        summary=f"The {name} project.")
    return Component(**{**defaults, **fields})


COMPONENTS = (
    component(AIRFLOW, "apache-airflow", "2.10.3"),
    component(AMAZON, "apache-airflow-providers-amazon", "9.0.0",
              license_spdx="Apache-2.0 OR BSD-3-Clause", license_raw="Apache-2.0 OR BSD-3-Clause",
              required_by=("apache-airflow[amazon]",), supplier="ACME (Cloud) Inc."),
    component(NUMPY_X86, "numpy", "2.1.3", license_spdx="BSD-3-Clause", license_raw="BSD",
              required_by=("apache-airflow-providers-amazon",), targets=(X86,)),
    component(NUMPY_ARM, "numpy", "2.1.3", license_spdx="BSD-3-Clause", license_raw="BSD",
              required_by=("apache-airflow-providers-amazon",), targets=(ARM,)),
    component(LEGACY_SDIST, "legacy-thing", "1.0", kind="sdist", license_spdx="unknown",
              license_raw="Proprietary; see LICENSE", required_by=("numpy",), upload_time=None),
    component(LEGACY_BUILT, "legacy-thing", "1.0", kind="built-wheel", built_here=True, url="",
              license_spdx="unknown", license_raw=None, required_by=("Numpy",), targets=(X86,),
              upload_time=None, author=HOSTILE_AUTHOR, supplier=None, summary=None),
)
BY_FILE = {each.filename: each for each in COMPONENTS}

SBOM = SbomInput(
    tool_version="0.1.0", created="2024-11-05T10:20:30Z", manifest_sha256=MANIFEST_SHA,
    folder_name="docker-context-files", targets=(X86, ARM),
    requirements=("apache-airflow[amazon]==2.10.3",), components=COMPONENTS)


def purl(each: Component) -> str:
    return f"pkg:pypi/{each.name}@{each.version}?file_name={each.filename}"


def no_control_characters(text: str) -> bool:
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


# -- CycloneDX, read back as plain data ---------------------------------------------------------


def cdx_from_json(text: str) -> dict[str, Any]:
    document = json.loads(text)
    assert document["specVersion"] == "1.6"
    components = {}
    for each in document["components"]:
        licenses = [("id", entry["license"]["id"]) if "license" in entry
                    else ("expression", entry["expression"]) for entry in each.get("licenses", [])]
        components[each["bom-ref"]] = dict(
            count=sum(other["bom-ref"] == each["bom-ref"] for other in document["components"]),
            name=each["name"], version=each["version"], purl=each["purl"],
            hashes=[(entry["alg"], entry["content"]) for entry in each["hashes"]],
            licenses=licenses,
            properties=sorted((entry["name"], entry["value"]) for entry in each["properties"]),
            distribution=[entry["url"] for entry in each.get("externalReferences", [])
                          if entry["type"] == "distribution"],
            supplier=each.get("supplier", {}).get("name"),
            authors=[(entry.get("name"), entry.get("email")) for entry in each.get("authors", [])],
            description=each.get("description"))
    metadata = document["metadata"]
    return dict(
        serial=document["serialNumber"], timestamp=metadata["timestamp"],
        tools=[(each["name"], each["version"]) for each in metadata["tools"]["components"]],
        root=(metadata["component"]["bom-ref"], metadata["component"]["name"]),
        properties=sorted((each["name"], each["value"]) for each in metadata["properties"]),
        components=components,
        dependencies={each["ref"]: set(each.get("dependsOn", []))
                      for each in document["dependencies"]},
        dependency_refs=[each["ref"] for each in document["dependencies"]])


def cdx_from_xml(text: str) -> dict[str, Any]:
    root = ET.fromstring(text)

    def one(element: ET.Element, path: str) -> str | None:
        found = element.find(path, CDX_NS)
        return None if found is None else found.text

    def properties(element: ET.Element) -> list[tuple[str, str]]:
        return sorted((each.get("name", ""), each.text or "")
                      for each in element.findall("c:properties/c:property", CDX_NS))

    all_components = root.findall("c:components/c:component", CDX_NS)
    components = {}
    for each in all_components:
        ref = each.get("bom-ref", "")
        licenses = []
        for entry in each.findall("c:licenses/*", CDX_NS):
            if entry.tag.endswith("}expression"):
                licenses.append(("expression", entry.text))
            else:
                licenses.append(("id", one(entry, "c:id")))
        components[ref] = dict(
            count=sum(other.get("bom-ref") == ref for other in all_components),
            name=one(each, "c:name"), version=one(each, "c:version"), purl=one(each, "c:purl"),
            hashes=[(entry.get("alg"), entry.text)
                    for entry in each.findall("c:hashes/c:hash", CDX_NS)],
            licenses=licenses, properties=properties(each),
            distribution=[one(entry, "c:url")
                          for entry in each.findall("c:externalReferences/c:reference", CDX_NS)
                          if entry.get("type") == "distribution"],
            supplier=one(each, "c:supplier/c:name"),
            authors=[(one(entry, "c:name"), one(entry, "c:email"))
                     for entry in each.findall("c:authors/c:author", CDX_NS)],
            description=one(each, "c:description"))
    metadata = root.find("c:metadata", CDX_NS)
    folder = root.find("c:metadata/c:component", CDX_NS)
    assert metadata is not None and folder is not None
    tools = metadata.findall("c:tools/c:components/c:component", CDX_NS)
    dependencies = root.findall("c:dependencies/c:dependency", CDX_NS)
    return dict(
        serial=root.get("serialNumber"), timestamp=one(metadata, "c:timestamp"),
        tools=[(one(each, "c:name"), one(each, "c:version")) for each in tools],
        root=(folder.get("bom-ref"), one(folder, "c:name")),
        properties=properties(metadata), components=components,
        dependencies={each.get("ref"): {child.get("ref") for child in each}
                      for each in dependencies},
        dependency_refs=[each.get("ref") for each in dependencies])


def check_cyclonedx(bom: dict[str, Any]) -> None:
    """Everything the fixture says, as a CycloneDX reader sees it."""
    components = bom["components"]
    assert sorted(components) == sorted(BY_FILE)
    for filename, each in BY_FILE.items():
        found = components[filename]
        assert found["count"] == 1
        assert (found["name"], found["version"]) == (each.name, each.version)
        assert found["hashes"] == [("SHA-256", each.sha256)]
        assert found["purl"] == purl(each)
        assert found["distribution"] == ([each.url] if each.url else [])
        properties = found["properties"]
        assert [value for name, value in properties if name == "wheelhouse:target"] == \
            sorted(each.targets)
        assert ("wheelhouse:kind", each.kind) in properties
        assert ("wheelhouse:size", "1234") in properties
        assert ("wheelhouse:built-here", "true" if each.built_here else "false") in properties
        assert (("wheelhouse:upload-time", each.upload_time) in properties) == \
            (each.upload_time is not None)
    licenses = {name: each["licenses"] for name, each in components.items()}
    assert licenses[AIRFLOW] == [("id", "Apache-2.0")]
    assert licenses[NUMPY_X86] == licenses[NUMPY_ARM] == [("id", "BSD-3-Clause")]
    assert licenses[AMAZON] == [("expression", "Apache-2.0 OR BSD-3-Clause")]
    assert licenses[LEGACY_SDIST] == licenses[LEGACY_BUILT] == []
    assert ("wheelhouse:license-declared", "Proprietary; see LICENSE") in \
        components[LEGACY_SDIST]["properties"]
    assert not any(name == "wheelhouse:license-declared"
                   for name, _ in components[LEGACY_BUILT]["properties"])
    assert ("wheelhouse:built-from", LEGACY_SDIST) in components[LEGACY_BUILT]["properties"]
    assert ("wheelhouse:required-by", "apache-airflow[amazon]") in \
        components[AMAZON]["properties"]
    assert components[AIRFLOW]["authors"] == [("Jane Doe", "jane@example.org")]
    assert components[AMAZON]["supplier"] == "ACME (Cloud) Inc."
    assert components[LEGACY_BUILT]["supplier"] is None
    assert components[AIRFLOW]["description"] == "The apache-airflow project."
    # the graph: every file once, both numpy wheels, the folder pointing at the root
    root_ref, root_name = bom["root"]
    assert root_name == "docker-context-files"
    assert sorted(bom["dependency_refs"]) == sorted([*BY_FILE, root_ref])
    assert bom["dependencies"] == {**EDGES, root_ref: {AIRFLOW}}
    # the document
    assert bom["serial"] == "urn:uuid:" + str(uuid.uuid5(
        uuid.NAMESPACE_URL, "https://wheelhouse.invalid/cyclonedx/" + MANIFEST_SHA))
    assert bom["timestamp"].startswith("2024-11-05T10:20:30")
    assert bom["tools"] == [("wheelhouse", "0.1.0")]
    assert bom["properties"] == sorted([
        ("wheelhouse:target", X86), ("wheelhouse:target", ARM),
        ("wheelhouse:requirement", "apache-airflow[amazon]==2.10.3"),
        ("wheelhouse:manifest-sha256", MANIFEST_SHA)])


def check_hostile_author(authors: list[tuple[str | None, str | None]]) -> None:
    [(name, email)] = authors
    assert name is not None and email is None
    assert name.startswith("Mallory") and "\U0001f608" in name
    assert len(name) <= 1000
    assert no_control_characters(name) and "\u202e" not in name  # nor a bidi override


def test_cyclonedx_json_carries_every_file_and_edge():
    rendered = render(SBOM, "cyclonedx-json")
    assert rendered.validated and rendered.schema == "CycloneDX 1.6 JSON schema"
    bom = cdx_from_json(rendered.text)
    check_cyclonedx(bom)
    check_hostile_author(bom["components"][LEGACY_BUILT]["authors"])


def test_cyclonedx_xml_carries_every_file_and_edge():
    rendered = render(SBOM, "cyclonedx-xml")
    assert rendered.validated and rendered.schema == "CycloneDX 1.6 XML schema"
    bom = cdx_from_xml(rendered.text)
    check_cyclonedx(bom)
    check_hostile_author(bom["components"][LEGACY_BUILT]["authors"])


def test_cyclonedx_xml_is_still_written_without_lxml(monkeypatch):
    from cyclonedx.exception import MissingOptionalDependencyException

    class NoLxml:
        def __init__(self, version: object) -> None:
            pass

        def validate_str(self, data: str) -> None:
            raise MissingOptionalDependencyException("install lxml")

    monkeypatch.setattr(sbom_module, "XmlValidator", NoLxml)
    rendered = render(SBOM, "cyclonedx-xml")
    assert rendered == Rendered(text=rendered.text, validated=False,
                                schema="CycloneDX 1.6 XML schema")
    check_cyclonedx(cdx_from_xml(rendered.text))


def test_a_document_the_validator_rejects_is_never_returned(monkeypatch):
    class Rejects:
        def __init__(self, version: object) -> None:
            pass

        def validate_str(self, data: str) -> str:
            return "'components' is a required property"

    monkeypatch.setattr(sbom_module, "_JsonValidator", Rejects)
    with pytest.raises(SbomInvalid, match="'components' is a required property"):
        render(SBOM, "cyclonedx-json")


# -- SPDX ----------------------------------------------------------------------------------------


def read_spdx(text: str, tmp_path: Path) -> Any:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "folder.spdx.json"
    path.write_text(text, encoding="utf-8")
    document = parse_file(str(path))
    assert validate_full_spdx_document(document) == []
    return document


@needs_spdx
def test_spdx_json_carries_every_file_and_edge(tmp_path):
    from spdx_tools.spdx.model import ActorType, RelationshipType, SpdxNoAssertion

    rendered = render(SBOM, "spdx-json")
    assert rendered.validated and "SPDX 2.3" in rendered.schema
    document = read_spdx(rendered.text, tmp_path)
    info = document.creation_info
    assert info.spdx_version == "SPDX-2.3" and info.spdx_id == "SPDXRef-DOCUMENT"
    assert info.name == "wheelhouse-docker-context-files"
    assert info.document_namespace == "https://wheelhouse.invalid/spdx/" + MANIFEST_SHA
    assert [(actor.actor_type, actor.name) for actor in info.creators] == \
        [(ActorType.TOOL, "wheelhouse-0.1.0")]
    assert info.created.isoformat().startswith("2024-11-05T10:20:30")
    assert info.data_license == "CC0-1.0"

    packages = {package.file_name: package for package in document.packages}
    assert sorted(package.file_name for package in document.packages) == sorted(BY_FILE)
    ids = {package.spdx_id: package.file_name for package in document.packages}
    assert len(ids) == len(BY_FILE)
    for filename, each in BY_FILE.items():
        package = packages[filename]
        assert (package.name, package.version) == (each.name, each.version)
        assert [(checksum.algorithm.name, checksum.value) for checksum in package.checksums] \
            == [("SHA256", each.sha256)]
        assert [(ref.category.name, ref.reference_type, ref.locator)
                for ref in package.external_references] == \
            [("PACKAGE_MANAGER", "purl", purl(each))]
        assert package.download_location == (each.url or SpdxNoAssertion())
        assert package.files_analyzed is False
        assert package.license_concluded == SpdxNoAssertion()
        targets = [line.split(": ", 1)[1] for line in package.comment.splitlines()
                   if line.startswith("target: ")]
        assert targets == list(each.targets)
        assert f"kind: {each.kind}" in package.comment.splitlines()

    declared = {name: str(package.license_declared) for name, package in packages.items()}
    assert declared[AIRFLOW] == "Apache-2.0"
    assert declared[AMAZON] == "Apache-2.0 OR BSD-3-Clause"
    assert declared[NUMPY_X86] == declared[NUMPY_ARM] == "BSD-3-Clause"
    assert packages[LEGACY_SDIST].license_declared == SpdxNoAssertion()
    assert packages[LEGACY_SDIST].license_comment == "declared: Proprietary; see LICENSE"
    assert packages[LEGACY_BUILT].license_declared == SpdxNoAssertion()
    assert packages[LEGACY_BUILT].license_comment is None

    assert packages[AMAZON].supplier.name == "ACME [Cloud] Inc."  # parentheses split actors
    assert packages[AMAZON].supplier.actor_type == ActorType.ORGANIZATION
    assert packages[LEGACY_BUILT].supplier == SpdxNoAssertion()
    originator = packages[AIRFLOW].originator
    assert (originator.actor_type, originator.name, originator.email) == \
        (ActorType.PERSON, "Jane Doe", "jane@example.org")
    hostile = packages[LEGACY_BUILT].originator
    check_hostile_author([(hostile.name, hostile.email)])

    def related(kind: RelationshipType) -> set[tuple[str, str]]:
        return {(ids.get(each.spdx_element_id, each.spdx_element_id),
                 ids[each.related_spdx_element_id])
                for each in document.relationships if each.relationship_type == kind}

    assert related(RelationshipType.DEPENDS_ON) == \
        {(parent, child) for parent, children in EDGES.items() for child in children}
    assert related(RelationshipType.DESCRIBES) == {("SPDXRef-DOCUMENT", AIRFLOW)}
    assert related(RelationshipType.GENERATED_FROM) == {(LEGACY_BUILT, LEGACY_SDIST)}


@needs_spdx
def test_an_spdx_document_the_validator_rejects_is_never_returned(monkeypatch):
    from spdx_tools.spdx.validation import document_validator
    from spdx_tools.spdx.validation.validation_message import (
        SpdxElementType,
        ValidationContext,
        ValidationMessage,
    )

    refusal = ValidationMessage("checksum is wrong", ValidationContext(
        spdx_id="SPDXRef-x", element_type=SpdxElementType.PACKAGE))
    monkeypatch.setattr(document_validator, "validate_full_spdx_document",
                        lambda document: [refusal])
    with pytest.raises(SbomInvalid, match="checksum is wrong"):
        render(SBOM, "spdx-json")


@needs_spdx
def test_spdx_ids_stay_unique_when_file_names_differ_only_in_unsafe_characters(tmp_path):
    twins = (component("a+b-1.0.tar.gz", "a-b", "1.0", kind="sdist"),
             component("a_b-1.0.tar.gz", "a-b", "1.0", kind="sdist"),
             component("DOCUMENT", "document", "1.0"))
    document = read_spdx(render(replace(SBOM, components=twins), "spdx-json").text, tmp_path)
    ids = sorted(package.spdx_id for package in document.packages)
    assert ids == ["SPDXRef-DOCUMENT-2", "SPDXRef-a-b-1.0.tar.gz", "SPDXRef-a-b-1.0.tar.gz-2"]


@needs_spdx
def test_licenses_spdx_tools_cannot_state_are_commented_not_asserted(tmp_path):
    from spdx_tools.spdx.model import SpdxNoAssertion

    odd = (component("odd-1.0-py3-none-any.whl", "odd", "1.0",
                     license_spdx="MIT AND LicenseRef-Odd-License"),
           component("new-1.0-py3-none-any.whl", "new", "1.0",
                     license_spdx="Not-A-License-Id", license_raw="Not-A-License-Id"),
           # an id packaging knows (deprecated) that spdx-tools' license list lacks
           component("ecos-1.0-py3-none-any.whl", "ecos", "1.0", license_spdx="eCos-2.0",
                     license_raw="eCos License"))
    text = render(replace(SBOM, components=odd), "spdx-json").text
    document = read_spdx(text, tmp_path)
    assert [each.license_id for each in document.extracted_licensing_info] == \
        ["LicenseRef-Odd-License"]
    packages = {package.name: package for package in document.packages}
    assert str(packages["odd"].license_declared) == "MIT AND LicenseRef-Odd-License"
    assert packages["new"].license_declared == SpdxNoAssertion()
    assert packages["new"].license_comment == "declared: Not-A-License-Id"
    assert packages["ecos"].license_declared == SpdxNoAssertion()
    assert packages["ecos"].license_comment == "declared: eCos-2.0"
    bom = json.loads(render(replace(SBOM, components=odd), "cyclonedx-json").text)
    licenses = {each["name"]: each.get("licenses") for each in bom["components"]}
    assert licenses == {"odd": [{"expression": "MIT AND LicenseRef-Odd-License"}], "new": None,
                        "ecos": [{"license": {"id": "eCos-2.0"}}]}


@needs_spdx
@pytest.mark.parametrize(("author", "name", "email"), [
    ("(ACME)", "[ACME]", None),
    ("()", "[]", None),
    ("Jane (Doe) <jane@example.org>", "Jane [Doe]", "jane@example.org"),
    ("<jane@example.org>", "jane@example.org", "jane@example.org"),
    ("A <a@example.org>, B <b@example.org>", "A <a@example.org>, B <b@example.org>", None),
])
def test_spdx_actors_read_back_as_written(author, name, email, tmp_path):
    awkward = (component("x-1.0-py3-none-any.whl", "x", "1.0", author=author, supplier=author),)
    document = read_spdx(render(replace(SBOM, components=awkward), "spdx-json").text, tmp_path)
    [package] = document.packages
    assert (package.originator.name, package.originator.email) == (name, email)
    supplier = author.replace("(", "[").replace(")", "]")  # an organization: no e-mail split
    assert (package.supplier.name, package.supplier.email) == (supplier, None)


@needs_spdx
def test_spdx_keeps_a_url_it_cannot_state_as_a_download_location(tmp_path):
    from spdx_tools.spdx.model import SpdxNoAssertion

    local = (component("x-1.0-py3-none-any.whl", "x", "1.0",
                       url="http://localhost:8080/packages/x-1.0-py3-none-any.whl"),)
    document = read_spdx(render(replace(SBOM, components=local), "spdx-json").text, tmp_path)
    [package] = document.packages
    assert package.download_location == SpdxNoAssertion()
    assert "downloaded from: http://localhost:8080/packages/x-1.0-py3-none-any.whl" in \
        package.comment.splitlines()
    bom = cdx_from_json(render(replace(SBOM, components=local), "cyclonedx-json").text)
    assert bom["components"]["x-1.0-py3-none-any.whl"]["distribution"] == \
        ["http://localhost:8080/packages/x-1.0-py3-none-any.whl"]


ODD_URLS = ["http://[::1]:8080/x.whl", "http://[::1", "a\\b", "https://h.example/`{}|^",
            "https://h.example/%zz", "https://h.example/x#a#b", "\U0001f600", ":::", "//", "?",
            "https://h.example/a b", "https://h.example/\u00e9", "ftp://h.example/x.whl",
            "https://h.example/it's.whl", "file:///srv/wheels/x.whl", "http://localhost/x.whl"]


@pytest.mark.parametrize("format", formats())
@pytest.mark.parametrize("url", ODD_URLS)
def test_a_url_either_schema_would_refuse_is_left_out(format, url):
    odd = (component("x-1.0-py3-none-any.whl", "x", "1.0", url=url),)
    rendered = render(replace(SBOM, components=odd), format)
    assert rendered.validated
    if format == "cyclonedx-json":
        [found] = json.loads(rendered.text)["components"]
        kept = [each["url"] for each in found.get("externalReferences", [])]
        assert kept in ([], [url], [url.replace("'", "%27")])
        assert bool(kept) == (url in ("https://h.example/it's.whl", "file:///srv/wheels/x.whl",
                                      "http://localhost/x.whl"))


def test_spdx_on_python_3_9_says_what_it_needs(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    with pytest.raises(InputError, match=r"needs Python 3\.10 or later"):
        render(SBOM, "spdx-json")
    assert render(SBOM, "cyclonedx-json").validated  # the other formats still work there


# -- every format --------------------------------------------------------------------------------


@pytest.mark.parametrize("format", formats())
def test_rendering_is_reproducible(format):
    first = render(SBOM, format)
    assert first.validated
    assert render(SBOM, format).text == first.text
    shuffled = replace(SBOM, components=tuple(reversed(COMPONENTS)))
    assert render(shuffled, format).text == first.text
    other = render(replace(SBOM, manifest_sha256="cd" * 32), format)
    assert other.text != first.text  # the manifest names the document (serial, namespace)


@pytest.mark.parametrize("format", formats())
def test_an_empty_folder_and_a_cycle_still_validate(format, tmp_path):
    assert render(replace(SBOM, components=()), format).validated
    cycle = (component("a-1.0-py3-none-any.whl", "a", "1.0", required_by=("b",)),
             component("b-1.0-py3-none-any.whl", "b", "1.0", required_by=("a[x]",)))
    rendered = render(replace(SBOM, components=cycle), format)
    assert rendered.validated
    if format == "cyclonedx-json":
        bom = cdx_from_json(rendered.text)
        assert bom["dependencies"] == {"a-1.0-py3-none-any.whl": {"b-1.0-py3-none-any.whl"},
                                       "b-1.0-py3-none-any.whl": {"a-1.0-py3-none-any.whl"},
                                       "wheelhouse/folder": {"a-1.0-py3-none-any.whl"}}


def test_an_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="unknown SBOM format 'spdx-xml'"):
        render(SBOM, "spdx-xml")


@pytest.mark.parametrize(("change", "message"), [
    (dict(components=(COMPONENTS[0], COMPONENTS[0])), "appears more than once"),
    (dict(components=(replace(COMPONENTS[0], sha256="xyz"),)), "sha256"),
    (dict(components=(replace(COMPONENTS[0], name=" \x00 "),)), "no usable name"),
    (dict(components=(replace(COMPONENTS[0], kind="egg"),)), "kind 'egg'"),
    (dict(created="yesterday"), "RFC 3339"),
    (dict(manifest_sha256="0"), "manifest_sha256"),
])
def test_a_broken_promise_from_the_caller_is_a_value_error(change, message):
    with pytest.raises(ValueError, match=message):
        render(replace(SBOM, **change), "cyclonedx-json")


# -- untrusted METADATA --------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("WHEELHOUSE_FUZZ_EXAMPLES", "200")) // 4 or 1
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# characters that mean something to one of the formats: XML, actors, e-mails, URIs, purls
NASTY = st.sampled_from(list("\x00\x1b\t\n\r\x85()<>@[]{}|^`\\:/%#?&='\" é\u202e\u2028"
                             "\ufeff\ufffe\uffff\U0001f608"))
texts = st.text(st.characters() | NASTY, max_size=60) | st.text(min_size=900, max_size=1300)
optional_texts = st.none() | texts
licenses = st.sampled_from(["MIT", "unknown", "Apache-2.0 OR BSD-3-Clause", "LicenseRef-X",
                            "GPL-2.0-or-later WITH Classpath-exception-2.0"]) | texts
urls = st.sampled_from(["", "https://files.pythonhosted.org/p/x.whl", *ODD_URLS]) \
    | st.builds("{}{}".format, st.sampled_from(["https://h.example/", "http://", "file:///"]),
                texts) | texts


@st.composite
def hostile_components(draw: Any, index: int) -> Component:
    author = draw(optional_texts | st.builds("{} <{}@{}>".format, texts, texts, texts))
    return Component(
        filename=f"f{index}" + draw(texts), name="p" + draw(texts), version="1" + draw(texts),
        sha256=f"{index:064x}", size=draw(st.integers(0, 2 ** 40)), url=draw(urls),
        kind=draw(st.sampled_from(["wheel", "sdist", "built-wheel"])),
        built_here=draw(st.booleans()), author=author,
        supplier=draw(optional_texts), license_spdx=draw(licenses),
        license_raw=draw(optional_texts), required_by=tuple(draw(st.lists(texts, max_size=3))),
        targets=tuple(draw(st.lists(texts, max_size=2))), upload_time=draw(optional_texts),
        summary=draw(optional_texts))


@st.composite
def hostile_inputs(draw: Any) -> SbomInput:
    count = draw(st.integers(0, 4))
    components = tuple(draw(hostile_components(index)) for index in range(count))
    # give the graph something to link: a component may be required by another's name
    if count > 1 and draw(st.booleans()):
        components = (components[0], replace(components[1], required_by=(components[0].name,)),
                      *components[2:])
    return SbomInput(tool_version=draw(texts), created="2024-11-05T10:20:30+02:00",
                     manifest_sha256="ef" * 32, folder_name=draw(texts),
                     targets=tuple(draw(st.lists(texts, max_size=2))),
                     requirements=tuple(draw(st.lists(texts, max_size=2))),
                     components=components)


def independently_valid(rendered: Rendered, format: str, count: int, tmp_path: Path) -> None:
    """What render returned, checked again by the reader a consumer would use."""
    assert rendered.validated
    if format == "spdx-json":
        assert len(read_spdx(rendered.text, tmp_path).packages) == count
        return
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator

    if format == "cyclonedx-json":
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(rendered.text) is None
        assert len(json.loads(rendered.text).get("components", [])) == count
    else:
        assert XmlValidator(SchemaVersion.V1_6).validate_str(rendered.text) is None
        assert len(ET.fromstring(rendered.text).findall("c:components/c:component",
                                                        CDX_NS)) == count


@pytest.mark.parametrize("format", formats())
@fuzz
@given(sbom=hostile_inputs())
def test_hostile_metadata_still_gives_a_valid_document(format, sbom, tmp_path_factory):
    rendered = render(sbom, format)  # any exception but the module's own fails the test
    independently_valid(rendered, format, len(sbom.components), tmp_path_factory.mktemp("fuzz"))


@settings(max_examples=150, deadline=None)
@given(st.from_regex(
    r"(https?|file)://[A-Za-z0-9.\-]{0,12}(:[0-9]{1,5})?(/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?#\[\]]"
    r"{0,12}){0,4}", fullmatch=True))
def test_a_url_the_fast_iri_check_passes_is_one_the_full_check_passes(url):
    """The JSON validator's quick path for plain URLs (the full IRI grammar costs 70 ms a
    URL) accepts nothing the full grammar would refuse."""
    from jsonschema import Draft7Validator

    from wheelhouse.sbom import _PLAIN_URL

    exact, _ = Draft7Validator.FORMAT_CHECKER.checkers["iri-reference"]
    if _PLAIN_URL.fullmatch(url):
        assert exact(url)
