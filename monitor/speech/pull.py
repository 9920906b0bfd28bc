"""`heatmon models pull`: download a model archive, verify it, unpack it atomically.

A model appears in the models directory whole or not at all: the archive is downloaded to a
hidden `.part` file, checked (size, md5, sha256), unpacked into a hidden temporary directory
next to the target, checked again as a Vosk model, and only then renamed into place. An
interrupted download keeps its `.part` file so the next pull resumes it (HTTP Range).
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from monitor.errors import ModelError
from monitor.speech.manifest import ModelSpec
from monitor.speech.resolve import check_model_dir, missing_parts

#: `progress(done_bytes, total_bytes_or_None)` after every chunk.
Progress = Callable[[int, int | None], None]

CHUNK = 256 * 1024
TIMEOUT = 30.0


class DownloadInterrupted(ModelError):
    """The connection broke or the user pressed Ctrl-C; the partial archive is kept to resume."""


class ServerUnreachable(ModelError):
    """No connection to the download server (no network, a name that does not resolve, refused)."""


def part_path(spec: ModelSpec, models_dir: Path) -> Path:
    """Where the archive is downloaded before it is verified (hidden, so never taken for a model)."""
    return models_dir / f".{spec.name}.zip.part"


def pull_model(
    spec: ModelSpec,
    models_dir: Path,
    url: str,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Download `spec` from `url` into `models_dir/<spec.name>` and return that directory.

    Raises `ModelError` (one clear line) on any failure, leaving no model directory behind.
    """
    target = models_dir / spec.name
    if target.exists() and not force:
        try:
            check_model_dir(target)
        except ModelError as err:
            raise ModelError(f"{err}; pull with --force to replace it") from err
        return target
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelError(f"cannot create the models directory {models_dir}: {err.strerror or err}") from err
    archive = part_path(spec, models_dir)
    try:
        _download(spec, url, archive, progress)
        _verify(spec, archive)
        _install(spec, archive, target)
    except (DownloadInterrupted, KeyboardInterrupt):
        raise  # the .part file stays: the next pull resumes it (or skips straight to unpacking)
    except BaseException:
        archive.unlink(missing_ok=True)  # corrupt, or the disk is full: keep nothing
        raise
    archive.unlink(missing_ok=True)
    return target


def _download(spec: ModelSpec, url: str, archive: Path, progress: Progress | None) -> None:
    have = archive.stat().st_size if archive.exists() else 0
    if not spec.size_approx and have == spec.size:
        return  # fully downloaded before; the caller verifies it
    if not spec.size_approx and have > spec.size:
        archive.unlink()
        have = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "heatmon"})
    except ValueError as err:  # no scheme: a $HEATMON_MODEL_URL like "mirror.lan/vosk"
        raise ModelError(f"cannot download {spec.name}: {url} is not a URL ({err})") from err
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:
            archive.unlink()  # the server cannot resume this file: start over
            return _download(spec, url, archive, progress)
        raise ModelError(f"download of {spec.name} failed: HTTP {err.code} {err.reason} from {url}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        why = _unreachable(reason)
        if why is not None:
            host = urlsplit(url).hostname or url
            raise ServerUnreachable(
                f"cannot download {spec.name}: the download server {host} could not be reached ({why})"
            ) from err
        raise ModelError(f"cannot download {spec.name} from {url}: {reason}") from err
    with response:
        if response.status != 206:
            have = 0  # the server ignored the Range header and sends the whole file
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        if total is not None and not spec.size_approx and total != spec.size:
            raise ModelError(
                f"{url} offers {total} bytes but {spec.name} is {spec.size} bytes; "
                "is the mirror serving another file?"
            )
        expected = spec.size if not spec.size_approx else total
        _stream(response, archive, have, expected, spec.name, progress)


def _unreachable(reason: object) -> str | None:
    """Why no connection could be made, in words, or None if the failure is of another kind."""
    if isinstance(reason, socket.gaierror):
        return "its name does not resolve: no network, or no DNS?"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(reason, OSError) and not isinstance(reason, (ssl.SSLError, FileNotFoundError)):
        return reason.strerror or str(reason)
    return None


def _stream(
    response: http.client.HTTPResponse,
    archive: Path,
    have: int,
    expected: int | None,
    name: str,
    progress: Progress | None,
) -> None:
    done = have
    try:
        with archive.open("ab" if have else "wb") as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, expected)
    except OSError as err:
        if isinstance(err, (ConnectionError, TimeoutError)):
            raise DownloadInterrupted(
                f"download of {name} broke off at {done / 1e6:.1f} MB ({err}); run the same command to resume"
            ) from err
        if err.errno == errno.ENOSPC:
            raise ModelError(f"disk full while downloading {name} into {archive.parent}") from err
        raise ModelError(f"cannot write {archive}: {err.strerror or err}") from err
    except http.client.HTTPException as err:
        raise DownloadInterrupted(
            f"download of {name} broke off at {done / 1e6:.1f} MB ({err!r}); run the same command to resume"
        ) from err
    if expected is not None and done < expected:
        raise DownloadInterrupted(
            f"download of {name} ended early at {done} of {expected} bytes; run the same command to resume"
        )


def _verify(spec: ModelSpec, archive: Path) -> None:
    size = archive.stat().st_size
    if not spec.size_approx and size != spec.size:
        raise ModelError(
            f"downloaded {spec.name} is {size} bytes, expected {spec.size}; the download is corrupt"
        )
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with archive.open("rb") as data:
        while block := data.read(1 << 20):
            md5.update(block)
            sha256.update(block)
    for algorithm, expected, actual in (("md5", spec.md5, md5), ("sha256", spec.sha256, sha256)):
        if expected and actual.hexdigest() != expected:
            raise ModelError(
                f"downloaded {spec.name} fails its {algorithm} check "
                f"({actual.hexdigest()} instead of {expected}); the download is corrupt, it was deleted"
            )


def _install(spec: ModelSpec, archive: Path, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.unpack-", dir=target.parent))
    try:
        root = _unpack(archive, staging / "unpacked", spec.name)
        missing = ", ".join(missing_parts(root))
        if missing:
            raise ModelError(f"archive of {spec.name} holds no Vosk model (missing {missing}); deleted it")
        if target.exists():  # --force: swap the old model out only once the new one is ready
            os.rename(target, staging / ".replaced")
        os.rename(root, target)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise ModelError(f"disk full while unpacking {spec.name} into {target.parent}") from err
        raise ModelError(f"cannot unpack {spec.name} into {target.parent}: {err.strerror or err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(archive: Path, staging: Path, name: str) -> Path:
    """Extract into `staging`; return the model's root (the archive's single top folder, if any)."""
    staging.mkdir()
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                parts = PurePosixPath(member.replace("\\", "/")).parts
                if member.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise ModelError(f"archive of {name} has an unsafe path {member!r}; not unpacked")
            bundle.extractall(staging)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise ModelError(f"archive of {name} is not a valid zip file ({err}); it was deleted") from err
    entries = [entry for entry in staging.iterdir() if entry.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return staging
