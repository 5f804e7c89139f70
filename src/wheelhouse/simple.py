"""Reading Simple API project pages (PEP 503 HTML, PEP 691 JSON) into links, fast.

PyPI's pages are large (botocore's lists 5,000 files) and a resolution reads hundreds of
them: parsing them with a DOM (pypi-simple's BeautifulSoup path) took 12 s of CPU for the
Airflow set, more than all the downloads. PEP 503 pages are flat lists of anchors, so a
scanner over `<a ...>` tags reads the same facts in a fraction of the time. JSON pages are
still read by pypi-simple.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

import requests

_ANCHOR_START = re.compile(r"<a\s", re.IGNORECASE)
_HREF = re.compile(r"""(?:^|\s)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_BASE = re.compile(r"<base\s[^>]*href\s*=\s*[\"']([^\"']+)", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
# PEP 691 JSON first, PEP 503 HTML for the indexes that serve only that.
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html, text/html;q=0.01"


@dataclass(frozen=True)
class Link:
    """One file a project page lists, with what the page says about it."""

    filename: str
    url: str
    sha256: str | None
    requires_python: str | None
    yanked: bool
    yanked_reason: str | None
    size: int | None = None
    # The sha256 of the file's METADATA, served beside it at URL + ".metadata" (PEP 658),
    # when the page names one: the resolver then reads it without fetching the wheel.
    metadata_sha256: str | None = None


def page_links(
    response: requests.Response, project: str, keep: Callable[[str], bool] | None = None
) -> Iterator[Link]:
    """Every file link of a project page, HTML or JSON, whose filename `keep` accepts."""
    content_type = response.headers.get("Content-Type", "text/html").split(";")[0].strip()
    if content_type == JSON_TYPE:
        from pypi_simple import ProjectPage  # its import (BeautifulSoup, pydantic) is slow

        page = ProjectPage.from_response(response, project)
        older = _dist_info_metadata(response)
        for package in page.packages:
            if keep is not None and not keep(package.filename):
                continue
            digests = package.metadata_digests
            if digests is None:
                digests = older.get(package.filename)
            yield Link(package.filename, package.url, package.digests.get("sha256"),
                       package.requires_python, package.is_yanked, package.yanked_reason,
                       package.size, _sha256((digests or {}).get("sha256")))
        return
    text = response.content.decode(response.encoding or "utf-8", errors="replace")
    yield from html_links(text, response.url, keep)


def html_links(
    text: str, page_url: str, keep: Callable[[str], bool] | None = None
) -> Iterator[Link]:
    """The anchors of a PEP 503 page; relative hrefs resolved against the page (or <base>).

    The filename is read first and the rest of the anchor only when `keep` accepts it:
    under constraints, one version's few files out of thousands are wanted.
    """
    base = _BASE.search(text)
    base_url = urljoin(page_url, html.unescape(base[1])) if base else page_url
    for attributes_text in _anchors(text):
        found = _HREF.search(attributes_text)
        if found is None:
            continue
        href = found[1] or found[2] or found[3] or ""
        if "&" in href:
            href = html.unescape(href)
        url, _, fragment = href.partition("#")
        if not url:
            continue
        filename = url.partition("?")[0].rsplit("/", 1)[-1]  # urlsplit costs 4x more
        if "%" in filename:
            filename = unquote(filename)
        if keep is not None and not keep(filename):
            continue
        if not url.startswith(("https://", "http://")):
            url = urljoin(base_url, url)
        attributes = {}
        for key, double, single, bare in _ATTRIBUTE.findall(attributes_text):
            attributes[key.lower()] = html.unescape(double or single or bare)
        algorithm, _, digest = fragment.partition("=")
        yanked = "data-yanked" in attributes
        metadata = attributes.get("data-core-metadata")
        if metadata is None:  # its name before PEP 714
            metadata = attributes.get("data-dist-info-metadata")
        metadata_algorithm, _, metadata_digest = (metadata or "").partition("=")
        yield Link(
            filename=filename,
            url=url,
            sha256=digest.lower() if algorithm == "sha256" and digest else None,
            requires_python=attributes.get("data-requires-python") or None,
            yanked=yanked,
            yanked_reason=(attributes.get("data-yanked") or None) if yanked else None,
            metadata_sha256=_sha256(metadata_digest) if metadata_algorithm == "sha256" else None,
        )


def _sha256(digest: object) -> str | None:
    """A sha256 hex digest, lowercased; None for anything else (a value that cannot be one
    could never match: the metadata is then read from the wheel instead)."""
    if isinstance(digest, str) and _SHA256.fullmatch(digest):
        return digest.lower()
    return None


def _dist_info_metadata(response: requests.Response) -> dict[str, dict[str, str]]:
    """filename -> digests of the JSON key PEP 714 renamed, `dist-info-metadata`, which
    pypi-simple does not read: for an index that still writes only that one (PyPI writes
    both). The page is parsed again only when it has the old key and not the new one."""
    content = response.content
    if b'"dist-info-metadata"' not in content or b'"core-metadata"' in content:
        return {}
    try:
        files = json.loads(content).get("files")
    except (ValueError, AttributeError):
        return {}
    found: dict[str, dict[str, str]] = {}
    for item in files if isinstance(files, list) else ():
        if isinstance(item, dict) and isinstance(item.get("filename"), str):
            digests = item.get("dist-info-metadata")
            if isinstance(digests, dict):
                found[item["filename"]] = digests
    return found


def _anchors(text: str) -> Iterator[str]:
    """The attribute text of each `<a ...>` tag, in one pass: a page with an `<a ` and no
    `>` after it ends the scan, rather than rescanning the rest of the page from each `<a `
    (a regex over `[^>]*` takes quadratic time there: minutes for a 600 KB page)."""
    position = 0
    while (start := _ANCHOR_START.search(text, position)) is not None:
        end = text.find(">", start.end())
        if end < 0:
            return
        yield text[start.end():end]
        position = end + 1
