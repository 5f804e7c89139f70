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
from urllib3.util.retry import Retry

from wheelhouse import __version__
from wheelhouse.errors import InputError, NetworkError

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)
RETRIES = 3


def make_session(pool_size: int = 16) -> requests.Session:
    """A pooled session that retries what is worth retrying and nothing else."""
    retry = Retry(
        total=RETRIES,
        connect=RETRIES,
        read=RETRIES,
        status=RETRIES,
        backoff_factor=float(os.environ.get("WHEELHOUSE_BACKOFF", "0.5")),
        status_forcelist=(500, 502, 503, 504),
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
) -> requests.Response | None:
    """GET with our errors: 404 is the caller's input (or None with missing_ok), the rest 3."""
    shown = redact(url)
    try:
        response = session.get(url, stream=stream, timeout=TIMEOUT, headers=headers)
    except requests.exceptions.SSLError as exc:
        raise NetworkError(f"TLS failed for {what} at {shown}: {reason(exc)}.") from exc
    except requests.exceptions.Timeout as exc:
        raise NetworkError(f"{what} at {shown} timed out.") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.RetryError) as exc:
        raise NetworkError(f"cannot reach {shown} for {what}: {reason(exc)}.") from exc
    except requests.exceptions.RequestException as exc:
        raise NetworkError(f"{what} at {shown} failed: {reason(exc)}.") from exc
    status = response.status_code
    if status == 200:
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
