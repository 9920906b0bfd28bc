"""Calls from the phone system: `heatmon ingest` and its adapters.

- the core: `push_source` (`PushSource`, a live call's `AudioSource`, fed by an adapter),
  `live_call` (`CallIdentity`, `LiveCall` and why a call ended), `calls` (`CallDesk`, the
  registry of live calls, `open` -> `LiveCall`, `Refused`).
- `g711`: mu-law and A-law decoding by table.
- `listeners`: what an adapter module registers (`ListenerKind`), the peer allow-list and
  HOST:PORT parsing shared by the adapters.
- `service`: the long-running service: the desk, every listener asked for, clean stops.
- one module per phone system, each registering one listener: `twilio` (Media Streams
  websockets, their messages parsed in `twilio_messages`), `siprec` (SIP recording sessions,
  with `sip`, `sip_transport`, `sdp`, `rtp`, `metadata`, `siprec_parties`, `siprec_media` and
  `siprec_options` beside it).
"""
