"""A wheel's METADATA read from its index without downloading the wheel.

The resolver looks at many versions it never ships: backtracking through botocore visits
dozens, at 12 MB a wheel. An index may serve METADATA beside the wheel (PEP 658, its sha256
on the page): one small GET. Otherwise the wheel is read as zipfile reads a file on disk,
each read a range request: its end (the zip's directory), then METADATA's own bytes; two
requests usually, one for a small wheel. A server that can do neither gets None, and the
caller downloads the file whole (checked against the index's sha256, as every download is).

What range requests read is not checked against the index's digest: only the whole file
could be. It serves the resolver's choice; what ships is the downloaded, checked wheel.
Everything a server says is untrusted here: no size it claims is allocated, no request asks
for more than DIRECTORY_LIMIT, and a directory or METADATA larger than its limit falls back
to the whole download, which reports such a wheel in its own words.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import struct
import zipfile
import zlib
from urllib.parse import urlsplit, urlunsplit

from wheelhouse import net
from wheelhouse.errors import InputError, NetworkError
from wheelhouse.index import IndexFile
from wheelhouse.wheelfile import (
    METADATA_LIMIT,
    Metadata,
    metadata_from_bytes,
    metadata_from_zip,
    metadata_member,
)

log = logging.getLogger(__name__)

KIB = 1 << 10
# The first request: the last 64 KiB hold a zip's end record whatever its comment, and the
# whole directory of a wheel of a few hundred members; all of a small wheel.
TAIL = 65 * KIB
# Any read the fetched bytes cannot answer asks for at least this much: zipfile reads a
# member's header, then its name, then its extra field, a few bytes each.
READ_AHEAD = 16 * KIB
# No one request asks for more: zipfile reads the directory in one read, and a directory
# this large already lists some 60,000 members (zipfile's objects for them take several
# times its size in memory). A larger one falls back to the whole download.
DIRECTORY_LIMIT = 8 * net.MIB
# METADATA's compressed bytes, held beside the up to METADATA_LIMIT they inflate to (real
# ones are kilobytes; a larger one falls back to the whole download).
MEMBER_LIMIT = 4 * net.MIB
# Fetched ranges kept for later reads, beyond the newest one.
CACHE_LIMIT = net.MIB
# A wheel that needs more requests than this is not worth reading in pieces.
MAX_REQUESTS = 8
# A member's local header: 30 bytes, its name, then an extra field we guess the size of.
LOCAL_HEADER = 30
EXTRA_GUESS = KIB

# What zipfile (and metadata_from_zip) raise for a zip that does not read.
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, InputError, EOFError, OSError,
               ValueError, RuntimeError, OverflowError, struct.error, zlib.error)


def fetch_metadata(session: net.Session, file: IndexFile) -> Metadata | None:
    """The METADATA of a wheel on an index, read without downloading the wheel: from the
    index's PEP 658 file when the page gives its sha256, else by range requests.

    None when neither works (not a wheel, a local file, a server without ranges, a zip that
    does not read, a body that broke off): the caller then downloads the file whole. Raises
    NetworkError for a PEP 658 file that does not match its digest or is larger than
    METADATA_LIMIT, and net's errors for a server that refuses (401, 403), lacks the wheel
    (404) or fails (5xx, timeouts): the whole download would meet them too.
    """
    if not file.is_wheel or not file.url.startswith(("https://", "http://")):
        return None  # a --find-links file is read whole, locally
    try:
        if file.metadata_sha256 is not None:
            found = _from_metadata_file(session, file)
            if found is not None:
                return found
        return _from_ranges(session, file)
    except net.BrokenOff as exc:
        log.debug("reading the metadata of %s broke off (%s); it is downloaded whole",
                  file.filename, exc)
        return None


def metadata_url(url: str) -> str:
    """Where PEP 658 puts a file's METADATA: ".metadata" after its URL's path."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + ".metadata", fragment=""))


def _from_metadata_file(session: net.Session, file: IndexFile) -> Metadata | None:
    """The PEP 658 file, checked against the page's digest; None when the index lacks it
    (404) or its fields do not parse, for the range requests to try."""
    url = metadata_url(file.url)
    response = net.get(session, url, what=f"the metadata of {file.filename}",
                       missing_ok=True, limit=METADATA_LIMIT)
    if response is None:
        log.debug("%s has no %s; reading the wheel's own", file.filename, net.redact(url))
        return None
    data = response.content
    found = hashlib.sha256(data).hexdigest()
    if found != file.metadata_sha256:
        raise NetworkError(
            f"the metadata of {file.filename} from {net.redact(url)} has sha256 {found}, but "
            f"the index published {file.metadata_sha256}: refusing it."
        )
    try:
        return metadata_from_bytes(data, file.filename)
    except InputError as exc:
        log.debug("%s; reading the wheel's own", exc)
        return None


def _from_ranges(session: net.Session, file: IndexFile) -> Metadata | None:
    """METADATA from the wheel's own zip, read in ranges; None when the server or the zip
    does not allow it."""
    remote = _RemoteFile.open(session, file)
    if remote is None:
        return None
    try:
        with zipfile.ZipFile(remote) as archive:
            member = metadata_member(archive, file.filename)
            if (member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
                    or member.compress_size > MEMBER_LIMIT
                    or member.file_size > METADATA_LIMIT):
                raise _Unusable(f"its METADATA is {member.compress_size} bytes compressed "
                                f"(type {member.compress_type}), {member.file_size} inflated")
            # Its header and its bytes in one request (an extra field longer than guessed
            # costs one more).
            name = len(member.orig_filename.encode("utf-8", "replace"))
            start = member.header_offset
            remote.fetch(start, start + LOCAL_HEADER + name + EXTRA_GUESS + member.compress_size)
            return metadata_from_zip(archive, file.filename)
    except _Failed as failed:
        raise failed.error from None
    except (_Unusable, *_UNREADABLE) as exc:
        log.debug("cannot read the metadata of %s in ranges (%s); it is downloaded whole",
                  file.filename, exc)
        return None


class _Unusable(Exception):
    """This server, or this zip, cannot be read in ranges."""


class _Failed(Exception):
    """A network error met inside zipfile's reads, carried out of them as it was (zipfile
    would not touch it, but metadata_from_zip's InputErrors must not be mistaken for a
    404's)."""

    def __init__(self, error: NetworkError | InputError) -> None:
        super().__init__(str(error))
        self.error = error


class _RemoteFile:
    """A wheel on a server, read as zipfile reads a file: a read the fetched ranges cannot
    answer becomes one range request, of at least READ_AHEAD bytes; the newest ranges are
    kept for the reads after them (up to CACHE_LIMIT beyond the newest)."""

    def __init__(self, session: net.Session, file: IndexFile, size: int, start: int,
                 data: bytes) -> None:
        self.session = session
        self.file = file
        self.size = size
        self.requests = 1
        self._ranges: list[tuple[int, bytes]] = [(start, data)]
        self._position = 0

    @classmethod
    def open(cls, session: net.Session, file: IndexFile) -> _RemoteFile | None:
        """Start with the file's last TAIL bytes; None when the server serves no ranges, or
        its size is not the one the index gave."""
        found = net.get_range(session, file.url, what=file.filename, first=None, last=TAIL,
                              limit=TAIL)
        if found is None:
            log.debug("%s answered no range for %s", net.redact(file.url), file.filename)
            return None
        data, start, size = found
        if file.size is not None and size != file.size:
            log.debug("%s says %s has %d bytes, the index %d", net.redact(file.url),
                      file.filename, size, file.size)
            return None
        return cls(session, file, size, start, data)

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence not in (0, 1, 2):
            raise ValueError(f"invalid whence ({whence})")
        position = offset + (0, self._position, self.size)[whence]
        if position < 0:
            raise OSError(errno.EINVAL, "negative seek position")  # as a file's seek
        self._position = position
        return position

    def read(self, n: int = -1) -> bytes:
        start = self._position
        end = self.size if n is None or n < 0 else min(self.size, start + n)
        if end <= start:
            return b""
        data = self._cached(start, end)
        if data is None:
            self.fetch(start, max(end, start + READ_AHEAD))
            data = self._cached(start, end)
            assert data is not None
        self._position = end
        return data

    def close(self) -> None:
        self._ranges = []

    def fetch(self, start: int, end: int) -> None:
        """Fetch bytes start to end (the file's end at most) in one request, unless held."""
        end = min(end, self.size)
        if start >= end or self._cached(start, end) is not None:
            return
        if end - start > DIRECTORY_LIMIT:
            raise _Unusable(f"a read of {end - start} bytes")
        if self.requests >= MAX_REQUESTS:
            raise _Unusable(f"more than {MAX_REQUESTS} requests")
        self.requests += 1
        try:
            found = net.get_range(self.session, self.file.url, what=self.file.filename,
                                  first=start, last=end - 1, limit=end - start)
        except (NetworkError, InputError) as exc:
            raise _Failed(exc) from exc
        if found is None or found[2] != self.size:
            raise _Unusable("the server answered no range, or another file's")
        self._ranges.append((start, found[0]))
        while len(self._ranges) > 1 and sum(len(data) for _, data in self._ranges[:-1]) > (
                CACHE_LIMIT):
            del self._ranges[0]

    def _cached(self, start: int, end: int) -> bytes | None:
        for offset, data in reversed(self._ranges):
            if offset <= start and end <= offset + len(data):
                return data[start - offset:end - offset]  # all of it: the same object
        return None
