"""The legs of a call that arrives as one stream per party (AudioSocket): which call and party
each stream's id is, and when the call is over.

A phone-system controller (ARI) announces each leg's id with `LegBook.expect` before it asks
the phone system to connect it; the listener claims the leg when the stream says its id.
A call ends when every one of its legs has ended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from monitor.ingest.live_call import HANGUP, LiveCall

RATE = 8000


@dataclass(eq=False)
class CallLegs:
    """A live call and the parties whose streams it still waits for or carries."""

    live: LiveCall
    open: set[str]
    reasons: list[str] = field(default_factory=list)

    def done(self, party: str, reason: str) -> None:
        """A leg is over; the last one to end ends the call (a clean hang-up wins)."""
        if party not in self.open:
            return
        self.open.discard(party)
        self.reasons.append(reason)
        if not self.open:
            self.live.end(HANGUP if HANGUP in self.reasons else self.reasons[0])


@dataclass(frozen=True, slots=True)
class Leg:
    """One party's stream of a call, at the sample rate it was opened with."""

    legs: CallLegs
    party: str
    rate: int = RATE


class LegBook:
    """Which call and party each expected stream id is; one stream per id."""

    def __init__(self) -> None:
        self._expected: dict[uuid.UUID, Leg] = {}

    def expect(self, leg_id: uuid.UUID, legs: CallLegs, party: str, rate: int = RATE) -> None:
        self._expected[leg_id] = Leg(legs, party, rate)

    def claim(self, leg_id: uuid.UUID) -> Leg | None:
        """The leg of `leg_id`, taken off the book (a second stream with that id is unknown)."""
        return self._expected.pop(leg_id, None)

    def drop(self, leg_id: uuid.UUID, reason: str) -> None:
        """A leg that will never connect (the phone system failed to make it) ends unheard."""
        leg = self._expected.pop(leg_id, None)
        if leg is not None:
            leg.legs.done(leg.party, reason)

    def __contains__(self, leg_id: object) -> bool:
        return leg_id in self._expected

    def __len__(self) -> int:
        return len(self._expected)
