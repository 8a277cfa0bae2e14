"""Fetching one OSV ecosystem archive over HTTP(S), conditionally, resumably and bounded.

A transfer is never trusted until verified: it goes to ``all.zip.part`` beside the kept
copy; a request carries ``If-None-Match``/``If-Modified-Since`` for the kept copy (a 304
means nothing to do) and ``Range``/``If-Range`` to resume a part left by an interrupted
run. The response must be a zip by its content type, no larger than ``max_bytes``, arrive
within a per-read timeout and an overall deadline (a server that drips bytes is cut off),
and end at the announced length. Only then does the caller verify the archive and swap it
in with ``os.replace``. Only ``http`` and ``https`` URLs are fetched; nothing else here
touches the network, and nothing in a scan ever calls this module.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from urllib.parse import urlsplit

from vmguard.text import is_decimal
from vmguard.vulns.errors import VulnsError

MiB = 1024 * 1024
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_CHUNK = 256 * 1024

Progress = Callable[[int, int], None]
"""(bytes received, bytes expected) -> None."""


class DownloadError(VulnsError):
    """An archive could not be fetched, or what arrived is refused."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds on one archive transfer."""

    max_bytes: int = 2048 * MiB
    """Largest archive accepted (OSV's largest all.zip is a few hundred MiB)."""
    read_timeout: float = 60.0
    """Seconds one read may wait for data."""
    deadline: float = 3600.0
    """Seconds one whole transfer may take."""


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said identifies the copy we hold (for conditional requests)."""

    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of one fetch."""

    modified: bool
    """False when the server answered 304: the kept copy is current."""
    part: Path | None
    """The complete transfer (still unverified), when ``modified``."""
    validators: Validators
    resumed_from: int
    """Bytes of an earlier partial transfer that were kept (0 when none)."""


def load_validators(path: Path) -> Validators:
    """Validators saved beside an archive; empty when there are none or they are unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Validators(
            etag=data.get("etag") if isinstance(data.get("etag"), str) else None,
            last_modified=data.get("last_modified")
            if isinstance(data.get("last_modified"), str)
            else None,
            size=data.get("size") if isinstance(data.get("size"), int) else None,
        )
    except (OSError, ValueError, AttributeError):
        return Validators()


def save_validators(path: Path, validators: Validators) -> None:
    """Write validators atomically (a crash leaves the old ones)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(validators)), encoding="utf-8")
    os.replace(temporary, path)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http and https only (urllib would also follow ftp)."""

    def redirect_request(  # type: ignore[no-untyped-def]  # noqa: PLR0917 - urllib's signature
        self, req, fp, code, msg, headers, newurl
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise DownloadError(f"redirected to a {urlsplit(newurl).scheme[:20]!r} URL: refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _request(url: str, headers: dict[str, str], timeout: float) -> HTTPResponse:
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http and https sources are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "vmguard", **headers})  # noqa: S310
    try:
        response = urllib.request.build_opener(_HttpOnlyRedirects).open(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 304:
            return err  # type: ignore[return-value]
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"{url}: cannot connect: {reason}") from err
    return response  # type: ignore[no-any-return]


def _conditional_headers(kept: Validators, have_copy: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    if have_copy and kept.etag:
        headers["If-None-Match"] = kept.etag
    if have_copy and kept.last_modified:
        headers["If-Modified-Since"] = kept.last_modified
    return headers


def _resume_start(response: HTTPResponse, offset: int) -> tuple[int, int | None]:
    """(where the body starts, total size) for a 200 or a 206 answer."""
    length = response.headers.get("Content-Length")
    if response.status == 206:
        found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if found is None or int(found.group(1)) != offset:
            raise DownloadError("the server resumed at another offset than asked")
        total = None if found.group(3) == "*" else int(found.group(3))
        return offset, total
    return 0, int(length) if length and is_decimal(length) else None


def fetch_archive(
    url: str,
    part: Path,
    kept: Validators,
    *,
    have_copy: bool,
    limits: FetchLimits | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """Fetch ``url`` into ``part`` (resuming what is there); see the module docstring."""
    limits = limits or FetchLimits()
    started = time.monotonic()
    state = part.with_suffix(part.suffix + ".json")
    partial = load_validators(state)
    offset = part.stat().st_size if part.is_file() and partial.etag else 0
    headers = _conditional_headers(kept, have_copy)
    if offset:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = partial.etag or ""
    response = _request(url, headers, limits.read_timeout)
    with response:
        if response.status == 304:
            return Fetched(False, None, kept, 0)
        if response.status not in (200, 206):
            raise DownloadError(f"{url}: unexpected HTTP {response.status}")
        kind = response.headers.get_content_type()
        if kind not in ZIP_TYPES:
            raise DownloadError(f"{url}: content type {kind[:60]!r}, not a zip archive")
        start, total = _resume_start(response, offset)
        if total is not None and total > limits.max_bytes:
            raise DownloadError(f"{url}: {total} bytes, more than the {limits.max_bytes} allowed")
        validators = Validators(
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            size=total,
        )
        save_validators(state, validators)
        received = _receive(
            response,
            part,
            start=start,
            total=total,
            started=started,
            limits=limits,
            progress=progress,
        )
    if total is not None and received != total:
        raise DownloadError(f"{url}: transfer ended at {received} of {total} bytes")
    state.unlink(missing_ok=True)
    return Fetched(
        True, part, Validators(validators.etag, validators.last_modified, received), start
    )


def _receive(
    response: HTTPResponse,
    part: Path,
    *,
    start: int,
    total: int | None,
    started: float,
    limits: FetchLimits,
    progress: Progress | None,
) -> int:
    received = start
    with open(part, "r+b" if start else "wb") as out:
        out.truncate(start)
        out.seek(start)
        while True:
            if time.monotonic() - started > limits.deadline:
                raise DownloadError(f"transfer slower than the {limits.deadline:.0f} s allowed")
            try:
                chunk = response.read1(_CHUNK)
            except (OSError, HTTPException) as err:
                raise DownloadError(f"transfer interrupted at {received} bytes: {err}") from err
            if not chunk:
                return received
            received += len(chunk)
            if received > limits.max_bytes:
                raise DownloadError(f"more than the {limits.max_bytes} bytes allowed")
            out.write(chunk)
            if progress is not None:
                progress(received, total or received)
