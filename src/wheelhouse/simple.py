"""Reading Simple API project pages (PEP 503 HTML, PEP 691 JSON) into links, fast.

PyPI's pages are large (botocore's lists 5,000 files) and a resolution reads hundreds of
them: parsing them with a DOM (pypi-simple's BeautifulSoup path) took 12 s of CPU for the
Airflow set, more than all the downloads. PEP 503 pages are flat lists of anchors, so a
scanner over `<a ...>` tags reads the same facts in a fraction of the time. PEP 691 JSON
pages are read with the json module and checked field by field, for the same reason.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

import requests

from wheelhouse.errors import NetworkError

_ANCHOR_START = re.compile(r"<a\s", re.IGNORECASE)
_HREF = re.compile(r"""(?:^|\s)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_BASE = re.compile(r"<base\s[^>]*href\s*=\s*[\"']([^\"']+)", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)")
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
    upload_time: str | None = None  # PEP 700, JSON pages only: RFC 3339


def page_links(
    response: requests.Response, project: str, keep: Callable[[str], bool] | None = None
) -> Iterator[Link]:
    """Every file link of a project page, HTML or JSON, whose filename `keep` accepts."""
    content_type = response.headers.get("Content-Type", "text/html").split(";")[0].strip()
    if content_type == JSON_TYPE:
        yield from json_links(response.content, response.url, project, keep)
        return
    text = response.content.decode(response.encoding or "utf-8", errors="replace")
    yield from html_links(text, response.url, keep)


def json_links(
    content: bytes, page_url: str, project: str, keep: Callable[[str], bool] | None = None
) -> Iterator[Link]:
    """The files of a PEP 691 page. Each field is type-checked here, not by a schema
    library: validating botocore's 5,000 entries that way took a third of a second, and a
    resolution reads dozens of such pages. An entry without a usable filename and URL is
    passed over (as an anchor without an href is); a page that is not a PEP 691 document,
    or speaks a major version this reader does not know (PEP 629), is refused."""
    what = f"the index page of {project} ({page_url})"
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise NetworkError(f"{what} is not valid JSON ({exc}).") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise NetworkError(f"{what} is not a PEP 691 project page: it has no list of files.")
    meta = data.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if isinstance(version, str) and version.partition(".")[0] not in ("", "1"):
        raise NetworkError(f"{what} speaks Simple API version {version}; wheelhouse reads "
                           "version 1.x.")
    for item in files:
        if not isinstance(item, dict):
            continue
        filename, url = item.get("filename"), item.get("url")
        if not isinstance(filename, str) or not isinstance(url, str) or not filename or not url:
            continue
        if keep is not None and not keep(filename):
            continue
        if not url.startswith(("https://", "http://")):
            url = urljoin(page_url, url)
        hashes = item.get("hashes")
        requires_python = item.get("requires-python")
        yanked = item.get("yanked", False)
        size = item.get("size")
        metadata = item.get("core-metadata", item.get("dist-info-metadata"))  # PEP 714
        yield Link(
            filename=filename,
            url=url,
            sha256=_sha256(hashes.get("sha256")) if isinstance(hashes, dict) else None,
            requires_python=requires_python if isinstance(requires_python, str)
            and requires_python else None,
            yanked=yanked is True or isinstance(yanked, str),  # "" as data-yanked="" is
            yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
            size=size if isinstance(size, int) and not isinstance(size, bool)
            and size >= 0 else None,
            metadata_sha256=_sha256(metadata.get("sha256"))
            if isinstance(metadata, dict) else None,
            upload_time=_timestamp(item.get("upload-time")),
        )


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


def _timestamp(value: object) -> str | None:
    """An RFC 3339 UTC timestamp as PEP 700 writes it; None for anything else."""
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    return None


def _sha256(digest: object) -> str | None:
    """A sha256 hex digest, lowercased; None for anything else (a value that cannot be one
    could never match: the metadata is then read from the wheel instead)."""
    if isinstance(digest, str) and _SHA256.fullmatch(digest):
        return digest.lower()
    return None


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
