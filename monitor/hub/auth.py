"""Who may connect to the hub as what: roles, tokens, and the tokens file.

A token grants one role: `publisher` (may only publish), `agent` (sees only the calls whose
`agent` is the token's name) or `supervisor` (sees every call, acknowledges alerts, sends
messages). Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.events import ROLES
from monitor.paths import private_dir

log = logging.getLogger("monitor.hub")


class AuthError(Exception):
    """A hello whose token is missing, unknown, or not for the role asked; `reason` is sent to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokensFileError(InputError):
    """The tokens file cannot be read, written or understood."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token allows: a role, and a name (for an agent: the agent whose calls it sees)."""

    token: str
    role: str
    name: str

    @property
    def agent(self) -> str | None:
        """The agent whose calls this grant is limited to; None for supervisors and publishers."""
        return self.name if self.role == "agent" else None

    def to_dict(self) -> dict[str, str]:
        return {"token": self.token, "role": self.role, "name": self.name}


def new_token() -> str:
    """A fresh random token, safe in a URL fragment."""
    # Never starting with "-": a token is passed as `--hub-token TOKEN`, and argparse would take
    # "-abc..." for an option (one token in 64 did, and that command line then failed).
    token = secrets.token_urlsafe(24)
    while token.startswith("-"):
        token = secrets.token_urlsafe(24)
    return token


@dataclass(frozen=True, slots=True)
class Tokens:
    """An immutable set of grants; `add` returns a new set."""

    grants: tuple[Grant, ...] = ()

    @staticmethod
    def make(*, publishers: int = 1, supervisors: int = 1, agents: tuple[str, ...] = ("agent",)) -> Tokens:
        """A fresh set with random tokens (the first start of `heatmon hub`, and tests)."""
        grants = [Grant(new_token(), "publisher", f"publisher{i + 1}") for i in range(publishers)]
        grants += [Grant(new_token(), "supervisor", f"supervisor{i + 1}") for i in range(supervisors)]
        grants += [Grant(new_token(), "agent", name) for name in agents]
        return Tokens(tuple(grants))

    def add(self, role: str, name: str, token: str | None = None) -> tuple[Tokens, Grant]:
        """A new set with one more grant, and that grant."""
        if role not in ROLES:
            raise TokensFileError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not name.strip():
            raise TokensFileError("a token needs a non-empty name (for an agent: the agent's name)")
        grant = Grant(token or new_token(), role, name.strip())
        return Tokens((*self.grants, grant)), grant

    def first(self, role: str, name: str | None = None) -> Grant:
        """The first grant of a role (and name); KeyError if there is none."""
        for grant in self.grants:
            if grant.role == role and (name is None or grant.name == name):
                return grant
        raise KeyError(f"no {role} token" + (f" for {name}" if name else ""))

    def check(self, token: Any, role: Any) -> Grant:
        """The grant for a hello's token and role; AuthError with a reason fit for the close frame."""
        if not isinstance(token, str) or not token:
            raise AuthError("missing token")
        if role not in ROLES:
            raise AuthError(f"unknown role {role!r}")
        match: Grant | None = None
        given = token.encode()
        # Compare against every grant, never stopping early, so timing tells nothing about tokens.
        for grant in self.grants:
            if hmac.compare_digest(grant.token.encode(), given):
                match = grant
        if match is None:
            raise AuthError("invalid token")
        if match.role != role:
            raise AuthError(f"token is not for role {role}")
        return match

    # -- the tokens file -------------------------------------------------------------------

    @staticmethod
    def load(path: Path) -> Tokens:
        """Read a tokens file (`{"tokens": [{"token", "role", "name"}, ...]}`)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise TokensFileError(f"tokens file {path} does not exist") from err
        except (OSError, UnicodeDecodeError) as err:
            raise TokensFileError(f"cannot read tokens file {path}: {err}") from err
        except json.JSONDecodeError as err:
            raise TokensFileError(f"tokens file {path} is not JSON: {err}") from err
        except RecursionError as err:
            raise TokensFileError(f"tokens file {path} is not JSON: nested too deep") from err
        entries = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise TokensFileError(f"tokens file {path} needs a 'tokens' list")
        grants = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise TokensFileError(f"tokens file {path}: entry {i} is not an object")
            token, role = entry.get("token"), entry.get("role")
            name = entry.get("name") or entry.get("agent") or role
            if not isinstance(token, str) or len(token) < 16:
                raise TokensFileError(f"tokens file {path}: entry {i} needs a 'token' of 16+ characters")
            if role not in ROLES:
                raise TokensFileError(f"tokens file {path}: entry {i} has unknown role {role!r}")
            if not isinstance(name, str):
                raise TokensFileError(f"tokens file {path}: entry {i} has a 'name' that is not a string")
            grants.append(Grant(token, role, name))
        return Tokens(tuple(grants))

    def save(self, path: Path) -> None:
        """Write the file atomically, readable by its owner only (mode 0600)."""
        private_dir(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        text = json.dumps({"tokens": [g.to_dict() for g in self.grants]}, indent=2) + "\n"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as err:
            raise TokensFileError(f"cannot write tokens file {path}: {err}") from err

    @staticmethod
    def load_or_create(path: Path) -> tuple[Tokens, bool]:
        """The tokens in `path`, creating it with fresh tokens if missing; True if it was created."""
        if path.exists():
            return Tokens.load(path), False
        tokens = Tokens.make()
        tokens.save(path)
        return tokens, True


@dataclass(slots=True)
class _Bucket:
    left: float  # failures this source may still have before it is refused
    at: float  # when `left` was last brought up to date
    refused_until: float = 0.0


@dataclass(slots=True)
class LoginLimiter:
    """Failed logins per source address, as a token bucket. Pure: the caller passes `now`.

    A source may fail `failures` times, and earns one more try every `per / failures`
    seconds; a source that used them all up is refused for `refuse_for` seconds, whatever
    token it brings. At most `max_sources` addresses are remembered (a flood from many
    addresses forgets the ones that have their full allowance back first)."""

    failures: int = 10
    per: float = 60.0
    refuse_for: float = 60.0
    max_sources: int = 10_000
    _sources: dict[str, _Bucket] = field(default_factory=dict)

    def refused(self, source: str, now: float) -> float:
        """Seconds the source is still refused for (0: it may try)."""
        bucket = self._sources.get(source)
        if bucket is None or bucket.refused_until <= now:
            return 0.0
        return bucket.refused_until - now

    def failed(self, source: str, now: float) -> float:
        """Count one failed login; the seconds the source is now refused for (0: not refused)."""
        bucket = self._sources.get(source)
        if bucket is None:
            if len(self._sources) >= self.max_sources:
                self._forget_some(now)
            bucket = self._sources[source] = _Bucket(float(self.failures), now)
        rate = self.failures / self.per
        bucket.left = min(float(self.failures), bucket.left + max(0.0, now - bucket.at) * rate) - 1.0
        bucket.at = now
        if bucket.left < 1.0 - 1e-9:
            bucket.refused_until = max(bucket.refused_until, now + self.refuse_for)
            return bucket.refused_until - now
        return 0.0

    def _forget_some(self, now: float) -> None:
        rate = self.failures / self.per
        full = [
            s
            for s, b in self._sources.items()
            if b.refused_until <= now and b.left + (now - b.at) * rate >= self.failures
        ]
        for source in (
            full or sorted(self._sources, key=lambda s: self._sources[s].at)[: self.max_sources // 10]
        ):
            del self._sources[source]


class TokensFile:
    """The tokens of a running hub, re-read from their file when it changes.

    `current(now)` looks at the file's size, mtime and inode at most once per `every`
    seconds and reads it again when they changed, so a token added or removed with
    `heatmon token add` (or by hand) takes effect at the next hello, without a restart. A
    file that cannot be read or understood keeps the tokens the hub had, with one log line
    (until the file changes again)."""

    def __init__(self, tokens: Tokens, path: Path | None = None, *, every: float = 1.0) -> None:
        self.tokens = tokens
        self.path = path
        self.every = every
        self._checked: float | None = None
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self, now: float) -> Tokens:
        """The tokens as the file has them now (re-read if it changed since the last look)."""
        if self.path is None or (self._checked is not None and now - self._checked < self.every):
            return self.tokens
        self._checked = now
        stamp = self._stat()
        if stamp == self._stamp:
            return self.tokens
        self._stamp = stamp
        try:
            tokens = Tokens.load(self.path)
        except TokensFileError as err:
            log.warning("%s; keeping the %d tokens read before", err, len(self.tokens.grants))
            return self.tokens
        log.info("tokens file %s re-read: %d tokens", self.path, len(tokens.grants))
        self.tokens = tokens
        return tokens


def default_tokens_path() -> Path:
    """Where `heatmon hub` keeps its tokens unless told otherwise."""
    from monitor.paths import data_dir

    return data_dir() / "tokens.json"


def publisher_token(explicit: str | None = None, tokens_path: Path | None = None) -> str:
    """The token a publisher (`heatmon run/replay --hub`) uses: the one given, else
    `$HEATMON_HUB_TOKEN`, else the first publisher token of the hub's tokens file."""
    token = explicit or os.environ.get("HEATMON_HUB_TOKEN")
    if token:
        return token
    path = tokens_path or default_tokens_path()
    try:
        return Tokens.load(path).first("publisher").token
    except KeyError as err:
        raise TokensFileError(
            f"tokens file {path} has no publisher token; add one with `heatmon token add --role publisher`"
        ) from err
    except TokensFileError as err:
        raise TokensFileError(
            f"{err}; give the hub's publisher token with --hub-token or "
            "$HEATMON_HUB_TOKEN, or start `heatmon hub` once on this machine"
        ) from err
