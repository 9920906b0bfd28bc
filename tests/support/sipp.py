"""sipp (Debian's `sip-tester`) as the two phones of a call: a caller and an agent, each
sending its party's speech as RTP from a pcap (see rtp.py).

The caller (UAC) calls a number on Asterisk, plays its pcap once the call is up, and hangs up
(BYE) `hangup_after` seconds later, which may be in the middle of a sentence. The agent (UAS)
rings (180), answers the INVITE Asterisk sends it, plays its own pcap, and answers Asterisk's
BYE.
Everything binds to 127.0.0.1 on ports the OS picked.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from support.process import free_media_ports, free_port

SDP = """\
v=0
o=- 1 1 IN IP[local_ip_type] [media_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=ptime:20
a=sendrecv
"""


def caller_scenario(number: str, caller: str, caller_name: str, pcap: Path, hangup_after: float) -> str:
    """A UAC that calls `number` as `caller_name <caller>` and hangs up after `hangup_after` s."""
    name = escape(caller_name)
    invite = f"""\
INVITE sip:{number}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:{number}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{SDP}"""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="heatmon caller">
  <send retrans="500"><![CDATA[
{invite}
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:{number}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:{number}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

  ]]></send>
  <nop><action><exec play_pcap_audio="{escape(str(pcap))}"/></action></nop>
  <pause milliseconds="{round(hangup_after * 1000)}"/>
  <send retrans="500"><![CDATA[
BYE sip:{number}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:{number}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def agent_scenario(pcap: Path, ring: float = 0.0) -> str:
    """A UAS that answers an INVITE after ringing `ring` seconds, plays `pcap`, and answers the BYE."""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="heatmon agent">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port]>
Content-Length: 0

  ]]></send>
  <pause milliseconds="{round(ring * 1000)}"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{SDP}
  ]]></send>
  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="{escape(str(pcap))}"/></action></nop>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

  ]]></send>
</scenario>
"""


@dataclass
class Phone:
    """One sipp process (caller or agent) and where its scenario and logs are."""

    proc: subprocess.Popen[bytes]
    workdir: Path

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def errors(self) -> str:
        """sipp's own error log and the messages it saw, for a failing test's message."""
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def _sipp(workdir: Path, scenario: str, args: list[str], port: int, calls: int = 1) -> Phone:
    workdir.mkdir(parents=True, exist_ok=True)
    xml = workdir / "scenario.xml"
    xml.write_text(scenario)
    media = free_media_ports()  # RTP: free UDP ports outside the ephemeral range
    command = [
        "sipp", *args, "-sf", str(xml), "-m", str(calls), "-i", "127.0.0.1", "-p", str(port),
        "-mi", "127.0.0.1", "-mp", str(media), "-nostdin", "-timeout", "120s", "-timeout_error",
        "-trace_err", "-error_file", str(workdir / "errors.log"),
        "-trace_msg", "-message_file", str(workdir / "messages.log"),
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Phone(proc, workdir)


def agent_phone(workdir: Path, pcap: Path, port: int, calls: int = 1, ring: float = 0.0) -> Phone:
    """Start the agent's phone (sipp UAS) on 127.0.0.1:`port`; it answers `calls` calls, each
    after ringing `ring` seconds."""
    return _sipp(workdir, agent_scenario(pcap, ring), [], port, calls)


def call(
    workdir: Path,
    asterisk_sip_port: int,
    number: str,
    caller: str,
    caller_name: str,
    pcap: Path,
    hangup_after: float,
    calls: int = 1,
) -> Phone:
    """Place `calls` calls at once through Asterisk from a caller phone (sipp UAC)."""
    scenario = caller_scenario(number, caller, caller_name, pcap, hangup_after)
    args = [f"127.0.0.1:{asterisk_sip_port}", "-l", str(calls)]
    return _sipp(workdir, scenario, args, free_port(), calls)
