"""The hub's limits and timings, in one frozen value that `serve_hub` and `Hub` take."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HubConfig:
    """Limits and timings of the hub."""

    # At most one fan-out per tick; the events of a tick go out as one batch. None: adaptive,
    # 0.05 ms per supervisor between 1 and 50 ms, so that the fan-out's own cost (some 10 us
    # per message per socket) stays a modest share of a core however many supervisors
    # watch. (2 ms + 0.1 ms was measured first: p99 2.2x the bare relay's on a quiet machine.)
    tick: float | None = None
    min_tick: float = 0.001
    max_tick: float = 0.05
    tick_per_supervisor: float = 0.00005
    per_message: int = 500  # events per batch message
    # Queued events that cannot be coalesced past which a viewer is cut off: 10 s of turns at
    # 2,000 calls. Cheap: a queue holds references to the events every viewer shares (and its
    # bytes are bounded by `viewer_bytes`); 5,000 cut every supervisor off on a busy machine.
    viewer_bound: int = 20_000
    viewer_bytes: int = 8 * 1024 * 1024  # queued JSON past which a viewer is cut off
    stall_timeout: float = 5.0  # a viewer socket that takes nothing for this long is cut off
    replay_window: int = 50_000  # events kept for reconnects with last_seq
    replay_window_bytes: int = 64 * 1024 * 1024  # and at most this much of their JSON
    welcome_bytes: int = 32 * 1024 * 1024  # a welcome past this keeps fewer (the newest) turns per call
    redact: bool = False  # mask spoken digit runs before the floor, the fan-out and the store
    ended_retention: float = 300.0  # seconds an ended call stays on the board
    hello_timeout: float = 10.0
    max_message: int = 64 * 1024
    write_limit: int = 256 * 1024  # per-connection socket buffer before send() waits
    viewer_sndbuf: int = 256 * 1024  # kernel send buffer of a viewer's socket (0: the OS default)
    publisher_idle: float = 24 * 3600.0  # forget a publisher's pseq after this long unheard
    login_failures: int = 10  # failed logins an address may have per `login_per` seconds ...
    login_per: float = 60.0
    login_refuse_for: float = 60.0  # ... before it is refused for this long
    tokens_recheck: float = 1.0  # look at the tokens file for changes at most this often
    # Seconds between full garbage collections that include long-lived objects (see
    # hub/collector.py); None leaves Python's collector as it is.
    collector_thaw_every: float | None = 600.0
