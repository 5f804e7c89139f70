"""One HTTP session for every request: retries, timeouts, and errors in the user's words.

requests already honours HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE and ~/.netrc from the
environment; we add bounded retries with backoff on connection errors and 5xx answers.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from wheelhouse import __version__
from wheelhouse.errors import InputError, NetworkError

# --timeout: how long a server may stay silent, and the window over which a body must keep
# arriving at MIN_RATE. A server trickling a byte a second is abandoned like a silent one.
DEFAULT_TIMEOUT = 60.0
MAX_CONNECT_TIMEOUT = 15.0
MIN_RATE = 1024  # bytes a second, averaged over each --timeout window
RETRIES = 3
MIB = 1 << 20
# What one index page or constraints file may be, decoded (gzip included): PyPI's largest
# pages are a few MiB. A larger answer is refused, not read into memory.
PAGE_LIMIT = 64 * MIB
# A server that asks to be called back later (429, 503 with Retry-After) is waited for, up to
# this many seconds a time: a Retry-After of an hour does not hold a run for an hour.
MAX_RETRY_AFTER = 30.0


class _Retry(Retry):
    """urllib3's Retry, with the server's Retry-After honoured up to MAX_RETRY_AFTER."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        wanted = super().get_retry_after(response)
        return None if wanted is None else min(wanted, MAX_RETRY_AFTER)


class BrokenOff(NetworkError):
    """A body stopped, slowed below MIN_RATE, or ended short: worth another attempt."""


class Session(requests.Session):
    """requests' Session, carrying the run's --timeout to every request made with it."""

    timeout: float = DEFAULT_TIMEOUT


def make_session(pool_size: int = 16, timeout: float = DEFAULT_TIMEOUT) -> Session:
    """A pooled session that retries what is worth retrying and nothing else."""
    retry = _Retry(
        total=RETRIES,
        connect=RETRIES,
        read=RETRIES,
        status=RETRIES,
        backoff_factor=float(os.environ.get("WHEELHOUSE_BACKOFF", "0.5")),
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    session = Session()
    session.timeout = timeout
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"wheelhouse/{__version__}"
    return session


def redact(url: str) -> str:
    """Hide the password (or token) in a URL, keep the user so people know which account."""
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:****@{hostport}" if ":" in userinfo else f"****@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def get(
    session: Session,
    url: str,
    *,
    what: str,
    stream: bool = False,
    headers: dict[str, str] | None = None,
    missing_ok: bool = False,
    limit: int | None = None,
) -> requests.Response | None:
    """GET with our errors: 404 is the caller's input (or None with missing_ok), the rest 3.

    With `limit`, the body is read (decoded) up to that many bytes and refused beyond; a
    body that breaks off is asked for again, RETRIES times.
    """
    for attempt in range(RETRIES + 1):
        response = _get(session, url, what, stream or limit is not None, headers)
        if response.status_code != 200:
            _not_ok(response, url, what, missing_ok)
            return None
        if limit is None:
            return response
        try:
            _read_limited(session, response, limit, what, url)
        except BrokenOff:
            if attempt == RETRIES:
                raise
            continue
        return response
    raise AssertionError("unreachable")


# A 206's Content-Range: "bytes FIRST-LAST/TOTAL" (digits bounded: no giant numbers).
_CONTENT_RANGE = re.compile(r"bytes[ \t]+(\d{1,18})-(\d{1,18})/(\d{1,18})", re.ASCII)


def get_range(
    session: Session,
    url: str,
    *,
    what: str,
    first: int | None,
    last: int | None,
    limit: int,
) -> tuple[bytes, int, int] | None:
    """Bytes `first`-`last` of a file, as HTTP writes a byte range (either end may be left
    out; (None, n) is the last n bytes): (the bytes, the offset of the first, the file's size).

    None when the server does not serve that range as asked, for the caller to fetch the
    file whole: a 200 (the whole file: closed unread), a 416, a 206 whose Content-Range is
    missing, malformed or another range than the one asked for, or whose body is encoded or
    longer than `limit`. Otherwise get's errors: 401, 403, 404, 5xx and timeouts raise, and
    a body that breaks off raises BrokenOff (not asked for again: the caller can fall back).
    """
    if (first is None and not last) or (first is not None and first < 0) or (
            first is not None and last is not None and last < first):
        raise ValueError(f"not a byte range: {first}-{last}")
    spec = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    # Identity: a range of a gzipped answer would be a range of the gzip stream.
    response = _get(session, url, what, True, {"Range": spec, "Accept-Encoding": "identity"})
    with response:  # closed unread whenever it is not read here
        if response.status_code in (200, 416):
            return None
        if response.status_code != 206:
            _not_ok(response, url, what, missing_ok=False)
            return None
        span = _span(response, first, last)
        if span is None:
            return None
        start, end, total = span
        length = end - start + 1
        if length > limit:
            return None
        chunks: list[bytes] = []
        received = 0
        for chunk in body(session, response, what, url):
            received += len(chunk)
            if received > length:
                return None  # more than its own Content-Range said
            chunks.append(chunk)
        if received < length:
            raise BrokenOff(f"{what} from {redact(url)} ended after {received} of the "
                            f"{length} bytes asked for.")
        return b"".join(chunks), start, total


def _span(response: requests.Response, first: int | None,
          last: int | None) -> tuple[int, int, int] | None:
    """(start, end, total) of a 206, when it is the range asked for and its body is sent as
    is; else None."""
    headers = response.headers
    found = _CONTENT_RANGE.fullmatch(headers.get("Content-Range", "").strip())
    if found is None or headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return None
    start, end, total = (int(group) for group in found.groups())
    if first is None:
        assert last is not None
        wanted = (max(total - last, 0), total - 1)
    else:
        wanted = (first, total - 1 if last is None else min(last, total - 1))
    if (start, end) != wanted or end < start:
        return None
    declared = headers.get("Content-Length")
    if declared is not None and declared.strip() != str(end - start + 1):
        return None
    return start, end, total


def _get(session: Session, url: str, what: str, stream: bool,
         headers: dict[str, str] | None) -> requests.Response:
    shown = redact(url)
    timeout = (min(MAX_CONNECT_TIMEOUT, session.timeout), session.timeout)
    try:
        return session.get(url, stream=stream, timeout=timeout, headers=headers)
    except requests.exceptions.SSLError as exc:
        raise NetworkError(f"TLS failed for {what} at {shown}: {_cause(exc, url)}.") from exc
    except requests.exceptions.Timeout as exc:
        raise NetworkError(f"{what} at {shown} timed out.") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.RetryError) as exc:
        raise NetworkError(f"cannot reach {shown} for {what}: {_cause(exc, url)}.") from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema) as exc:
        raise InputError(f"{shown} is not a URL wheelhouse can fetch {what} from: "
                         f"{_cause(exc, url)}.") from exc
    except requests.exceptions.RequestException as exc:
        raise NetworkError(f"{what} at {shown} failed: {_cause(exc, url)}.") from exc


def _not_ok(response: requests.Response, url: str, what: str, missing_ok: bool) -> None:
    """Anything but 200 in words: returns for a 404 the caller allows, else raises."""
    shown = redact(url)
    status = response.status_code
    response.close()
    if status == 404 and missing_ok:
        return None
    if status in (404, 410):
        raise InputError(f"{what} not found at {shown} (HTTP {status}).")
    if status in (401, 403):
        raise NetworkError(
            f"{shown} refused access to {what} (HTTP {status}): check the credentials "
            "in the URL or ~/.netrc."
        )
    raise NetworkError(f"{shown} answered HTTP {status} for {what}.")


def _read_limited(session: Session, response: requests.Response, limit: int, what: str,
                  url: str) -> None:
    """Read the body into the response and stop at `limit` bytes (decoded: urllib3 inflates
    gzip in bounded steps)."""
    data = bytearray()
    with response:
        for chunk in body(session, response, what, url):
            data += chunk
            if len(data) > limit:
                raise NetworkError(f"{what} at {redact(url)} is larger than {limit // MIB} "
                                   "MiB; refusing to read it.")
    response._content = bytes(data)  # what .content, .text and .json() then read
    response._content_consumed = True


def body(session: Session, response: requests.Response, what: str,
         url: str) -> Iterator[bytes]:
    """The decoded body, as it arrives; BrokenOff when it stops, ends short, or keeps
    arriving slower than MIN_RATE over a --timeout window (a trickle never times out a
    socket read, so it is measured here)."""
    window = session.timeout
    started, received = time.monotonic(), 0
    raw = response.raw
    try:
        while chunk := raw.read1(MIB, decode_content=True):
            received += len(chunk)
            now = time.monotonic()
            if now - started >= window:
                if received < MIN_RATE * window:
                    raise BrokenOff(f"{what} from {redact(url)} arrived slower than "
                                    f"{MIN_RATE // 1024} KiB/s for {window:g} s (--timeout).")
                started, received = now, 0
            yield chunk
    except (Urllib3Error, requests.exceptions.RequestException, OSError) as exc:
        raise BrokenOff(f"{what} from {redact(url)} broke off: {_cause(exc, url)}.") from exc


def _cause(exc: BaseException, url: str) -> str:
    """`reason`, with the URL's password hidden wherever the library quoted it."""
    text = reason(exc)
    password = urlsplit(url).password if "@" in url else None
    return text.replace(password, "****") if password else text


def reason(exc: BaseException) -> str:
    """The innermost cause in words ("Connection refused"), without urllib3's object reprs."""
    innermost = exc
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        innermost = current
        inner = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps it here
        if not isinstance(inner, BaseException):
            inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        current = inner or current.__cause__ or current.__context__
    if isinstance(innermost, OSError) and innermost.strerror:
        return innermost.strerror
    text = re.sub(r"^<?[\w.]+(Connection|Pool)\w*[( ].*?[)>]:\s*", "", str(innermost))
    return text.strip() or type(innermost).__name__
