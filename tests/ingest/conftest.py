"""Fixtures of the phone-system tests: a real Asterisk 22 on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.asterisk import Agent, Asterisk
from support.process import free_port


@pytest.fixture(scope="module")
def asterisk() -> Iterator[Asterisk]:
    """Asterisk 22 from the test chroot: SIP, RTP and ARI on 127.0.0.1, agent alice's phone on a
    port of its own (a sipp UAS each test starts there)."""
    peer = Asterisk(agents=[Agent("alice", free_port())])
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
