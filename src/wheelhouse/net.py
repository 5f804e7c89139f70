"""One HTTP session for every request: retries, timeouts, and errors in the user's words.

requests already honours HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE and ~/.netrc from the
environment; we add bounded retries with backoff on connection errors and 5xx answers.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from wheelhouse import __version__
from wheelhouse.errors import InputError, NetworkError

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)
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


def make_session(pool_size: int = 16) -> requests.Session:
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
    session = requests.Session()
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
    session: requests.Session,
    url: str,
    *,
    what: str,
    stream: bool = False,
    headers: dict[str, str] | None = None,
    missing_ok: bool = False,
    limit: int | None = None,
) -> requests.Response | None:
    """GET with our errors: 404 is the caller's input (or None with missing_ok), the rest 3.

    With `limit`, the body is read (decoded) up to that many bytes and refused beyond.
    """
    shown = redact(url)
    try:
        response = session.get(url, stream=stream or limit is not None, timeout=TIMEOUT,
                               headers=headers)
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
    status = response.status_code
    if status == 200:
        if limit is not None:
            _read_limited(response, limit, what, shown, url)
        return response
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


def _read_limited(response: requests.Response, limit: int, what: str, shown: str,
                  url: str) -> None:
    """Read the body into the response, chunk by chunk (urllib3 inflates gzip in bounded
    steps), and stop at `limit`."""
    data = bytearray()
    try:
        for chunk in response.iter_content(MIB):
            data += chunk
            if len(data) > limit:
                raise NetworkError(f"{what} at {shown} is larger than {limit // MIB} MiB; "
                                   "refusing to read it.")
    except requests.exceptions.RequestException as exc:
        raise NetworkError(f"{what} at {shown} broke off: {_cause(exc, url)}.") from exc
    finally:
        response.close()
    response._content = bytes(data)  # what .content, .text and .json() then read
    response._content_consumed = True


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
