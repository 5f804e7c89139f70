"""One HTTP session for every request: retries, timeouts, and errors in the user's words.

requests already honours HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE and ~/.netrc from the
environment; we add bounded retries with backoff on connection errors and 5xx answers.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError
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


# What to try when a host cannot be reached; callers whose input is not the index (the
# constraints) word the alternative for theirs with Unreachable.instead.
MIRROR = "give --index-url of a mirror you can reach"


class Unreachable(NetworkError):
    """No answer came: the host, or the proxy in between, could not be reached.

    The message is `failure; check, or alternative.`: what failed and why, what to check
    (the network or the proxy setting), and what else to give. `detail` is the failure
    without the request's name ("URL: cause", or "the proxy P (HTTPS_PROXY): cause"), for a
    caller that says what it was fetching in its own words.
    """

    def __init__(self, failure: str, detail: str, check: str,
                 alternative: str = MIRROR) -> None:
        super().__init__(f"{failure}; {check}, or {alternative}.")
        self.failure = failure
        self.detail = detail
        self.check = check

    def instead(self, alternative: str) -> Unreachable:
        """The same failure, with another thing to give than an index mirror."""
        return Unreachable(self.failure, self.detail, self.check, alternative)


class Session(requests.Session):
    """requests' Session, carrying the run's --timeout to every request made with it."""

    timeout: float = DEFAULT_TIMEOUT


def make_session(pool_size: int = 16, timeout: float = DEFAULT_TIMEOUT,
                 cert: str | None = None) -> Session:
    """A pooled session that retries what is worth retrying and nothing else.

    Trust, as pip's since 24.2: the operating system's certificate store (truststore, with
    certifi's roots too, as pip adds them), so that a proxy or mirror whose CA the system
    trusts is trusted. A CA bundle replaces it: `cert` (prepare --cert, or pip's `cert`),
    else REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE as requests reads them; that bundle alone is
    then trusted, as requests does (pip 24.2+ trusts it on top of the system's). Where
    truststore is not installed (Python 3.9), certifi's roots, as before. Proxies are
    requests' own (HTTP(S)_PROXY, NO_PROXY); the system's store serves through them too.
    """
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
    bundle = cert or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    adapter = _TrustAdapter(ca_bundle=cert or None,
                            ssl_context=None if bundle else system_trust(),
                            max_retries=retry, pool_connections=pool_size,
                            pool_maxsize=pool_size)
    session = Session()
    session.timeout = timeout
    if cert:
        session.verify = cert
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"wheelhouse/{__version__}"
    return session


@functools.cache
def system_trust() -> ssl.SSLContext | None:
    """The operating system's certificate store as one SSLContext for every connection
    (truststore), with certifi's roots added as pip adds them; None where truststore is not
    installed (Python 3.9) or cannot serve this platform: requests' certifi then."""
    try:
        import truststore
    except ImportError:
        return None
    try:
        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(requests.certs.where())  # certifi's, as requests'
    except (OSError, ValueError, NotImplementedError):
        return None
    return context


class _TrustAdapter(HTTPAdapter):
    """requests' HTTPAdapter with the trust make_session chose, set once per session: a CA
    bundle that every request is verified against (REQUESTS_CA_BUNDLE cannot displace it,
    as it displaces a session's `verify` in requests), or an SSLContext for every pool,
    proxied ones included. The context is never changed once in use: requests' per-pool
    certifi bundle is not loaded into it (the context holds it already)."""

    def __init__(self, *, ca_bundle: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        self._ca_bundle = ca_bundle
        self._ssl_context = ssl_context
        super().__init__(**kwargs)  # calls init_poolmanager: the context must be set first

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        if self._ssl_context is not None:
            pool_kwargs.setdefault("ssl_context", self._ssl_context)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if self._ssl_context is not None:
            proxy_kwargs.setdefault("ssl_context", self._ssl_context)
            if not proxy.lower().startswith("socks"):  # an https:// proxy's own certificate
                proxy_kwargs.setdefault("proxy_ssl_context", self._ssl_context)
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self._ssl_context is not None and verify is True and \
                url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = conn.ca_cert_dir = None
            if cert:
                super().cert_verify(conn, url, False, cert)  # the client certificate only
                conn.cert_reqs = "CERT_REQUIRED"
            return
        super().cert_verify(conn, url, verify, cert)

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        if self._ca_bundle is not None and verify is not False:
            verify = self._ca_bundle
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies=proxies)


def redact(url: str) -> str:
    """Hide the password (or token) in a URL, keep the user so people know which account."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL at all ("http://[::1/"): hide whatever precedes an @
        return re.sub(r"(?<=://)[^/@]*@", "****@", url)
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
    except requests.exceptions.ProxyError as exc:
        raise _unreachable(session, url, what, exc, through_proxy=True) from exc
    except requests.exceptions.SSLError as exc:
        cause = _cause(exc, url)
        untrusted = _find(exc, ssl.SSLCertVerificationError) is not None or \
            "CERTIFICATE_VERIFY_FAILED" in cause
        fix = ("; if the index, or a proxy on the way, has a CA of its own, give its CA bundle "
               "with --cert FILE or REQUESTS_CA_BUNDLE" if untrusted else "")
        raise NetworkError(f"TLS failed for {what} at {shown}: {cause}{fix}.") from exc
    except requests.exceptions.ConnectTimeout as exc:
        raise _unreachable(session, url, what, exc) from exc
    except requests.exceptions.Timeout as exc:
        raise _timed_out(session, shown, what) from exc
    except requests.exceptions.TooManyRedirects as exc:
        raise NetworkError(f"{shown} redirects {what} in a loop (more than "
                           f"{session.max_redirects} redirects).") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.RetryError) as exc:
        if _find(exc, ReadTimeoutError) is not None:  # it answered, then stayed silent
            raise _timed_out(session, shown, what) from exc
        if isinstance(exc, requests.exceptions.RetryError):  # too many 5xx answers
            raise NetworkError(f"{shown} kept failing for {what}: {_cause(exc, url)}.") from exc
        raise _unreachable(session, url, what, exc) from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema) as exc:
        raise InputError(f"{shown} is not a URL wheelhouse can fetch {what} from: "
                         f"{_cause(exc, url)}.") from exc
    except requests.exceptions.RequestException as exc:
        raise NetworkError(f"{what} at {shown} failed: {_cause(exc, url)}.") from exc


def _timed_out(session: Session, shown: str, what: str) -> NetworkError:
    return NetworkError(f"{shown} did not answer {what} within {session.timeout:g} s "
                        f"(--timeout), asked {RETRIES + 1} times; try again later, or allow "
                        "longer with --timeout.")


def _unreachable(session: Session, url: str, what: str, exc: BaseException,
                 through_proxy: bool = False) -> Unreachable:
    """The host, or the proxy that stands in for it, did not answer: which, why, the fix."""
    shown = redact(url)
    scheme = "HTTP" if url.lower().startswith("http:") else "HTTPS"
    proxy = _proxy_for(session, url) if through_proxy else None
    if proxy is None:
        cause = _cause(exc, url)
        return Unreachable(f"cannot reach {shown} for {what}: {cause}", f"{shown}: {cause}",
                           f"check the network or the proxy ({scheme}_PROXY)")
    setting = _proxy_setting(scheme)
    named = f"the proxy {redact(proxy)}" + (f" ({setting})" if setting else "")
    cause = _cause(exc, proxy)
    check = f"check {setting} (and NO_PROXY)" if setting else "check the proxy setting"
    return Unreachable(f"{named} failed for {what} at {shown}: {cause}", f"{named}: {cause}",
                       check)


def _proxy_for(session: Session, url: str) -> str | None:
    """The proxy requests used for `url`: the session's, or the environment's (NO_PROXY
    honoured), as requests chooses it."""
    try:
        settings = session.merge_environment_settings(url, {}, None, None, None)
        return requests.utils.select_proxy(url, settings.get("proxies") or {})
    except ValueError:
        return None


def _proxy_setting(scheme: str) -> str | None:
    """Which environment variable set the proxy of a `scheme` URL, as the user spelled it."""
    for name in (f"{scheme.lower()}_proxy", f"{scheme}_PROXY", "all_proxy", "ALL_PROXY"):
        if os.environ.get(name):
            return name
    return None


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
    """`reason`, with the URL's password hidden wherever the library quoted it, and without
    a closing period: every message puts its own after it."""
    text = reason(exc)
    try:
        password = urlsplit(url).password if "@" in url else None
    except ValueError:
        password = None
    text = text.replace(password, "****") if password else text
    return text.rstrip(". ") or "the connection failed"


# What is left of a library's message once it is no longer words: an object's repr
# (`NameResolutionError(...`, `<urllib3.connection.HTTPSConnection object at 0x...>`), a
# module path, a C source location (`(_ssl.c:1006)`).
_REPR = re.compile(r"[A-Z]\w*(Error|Exception|Warning)\(|<[\w.]+[ >]|object at 0x|\b_\w+\(|"
                   r"\b[a-z_]+\.[a-z_]+\.[A-Z]\w+")
_C_SOURCE = re.compile(r"\s*\(_?\w+\.c:\d+\)")


def reason(exc: BaseException) -> str:
    """The innermost cause in words ("Connection refused"), without the libraries' object
    reprs, class names or module paths."""
    chain = _chain(exc)
    innermost = chain[-1]
    if any(isinstance(e, (socket.gaierror, NameResolutionError)) for e in chain):
        resolving = next((e for e in chain if isinstance(e, socket.gaierror)), None)
        detail = resolving.strerror if resolving is not None else None
        if detail and "temporary" in detail.lower():  # no DNS answered: the network is down
            return f"its host name cannot be looked up now ({detail})"
        return "its host name cannot be resolved"
    if isinstance(innermost, OSError) and innermost.strerror:
        text = innermost.strerror
    elif isinstance(innermost, TimeoutError):
        text = "the connection timed out"
    else:
        text = re.sub(r"^<?[\w.]+(Connection|Pool)\w*[( ].*?[)>]:\s*", "", str(innermost))
        text = re.sub(r"^Failed to establish a new connection:\s*|\[Errno -?\d+\]\s*", "",
                      text)
    text = _C_SOURCE.sub("", text).strip()
    if not text or _REPR.search(text):
        return _in_words(chain)
    return text


def _chain(exc: BaseException) -> list[BaseException]:
    """exc and every exception inside it, outermost first: urllib3's MaxRetryError keeps
    its cause in `reason`, its ProxyError in args, Python in __cause__ and __context__."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        current = inner or current.__cause__ or current.__context__
    return found


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _in_words(chain: list[BaseException]) -> str:
    """What failed, from the kinds of exception alone, when no message is fit to show."""
    for error in reversed(chain):
        if isinstance(error, ConnectionRefusedError):
            return "Connection refused"
        if isinstance(error, ConnectionResetError):
            return "the connection was reset"
        if isinstance(error, TimeoutError):
            return "the connection timed out"
        if isinstance(error, ProtocolError):
            return "the connection broke off"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
    return "the connection failed"
