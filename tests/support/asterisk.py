"""A real Asterisk 22 on loopback, for the AudioSocket tests: config, start, readiness, stop.

Asterisk 22 is not packaged for Debian bookworm; `scripts/setup --test` builds a Debian sid
chroot with it once (`debootstrap --variant=minbase --include=asterisk,...`) into the test
cache. Each `Asterisk` here writes its own configuration into a fresh directory inside that
chroot (nothing of the chroot's /etc/asterisk is used), loads only the modules the calls
need, binds SIP, RTP and HTTP/ARI to 127.0.0.1 on ports the OS picked, and runs
`asterisk -f` in the foreground as our child, stopped and removed at teardown.

The dialplan is the one docs/asterisk.md gives: a call to any number sets the agent, enters
`Stasis(heatmon)` (heatmon's ARI controller forks its two parties to AudioSocket and lets it
go on), then dials the agent's endpoint.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from support.process import free_port

ASTERISK_VERSION = "22"

# What the calls need and nothing else: SIP over UDP, RTP, mu-law, the dialplan, Dial, ARI
# with snoops and externalMedia, AudioSocket. No manager, no IAX, no other listener.
MODULES = (
    "res_timing_timerfd.so",
    "res_sorcery_config.so",
    "res_sorcery_memory.so",
    "res_sorcery_astdb.so",
    "res_pjproject.so",
    "res_pjsip.so",
    "res_pjsip_session.so",
    "res_pjsip_pubsub.so",
    "chan_pjsip.so",
    "res_pjsip_sdp_rtp.so",
    "res_pjsip_endpoint_identifier_ip.so",
    "res_pjsip_caller_id.so",
    "res_rtp_asterisk.so",
    "codec_ulaw.so",
    "pbx_config.so",
    "app_dial.so",
    "func_callerid.so",
    "func_channel.so",
    "bridge_simple.so",
    "bridge_softmix.so",
    "res_stasis.so",
    "res_stasis_answer.so",
    "res_stasis_playback.so",
    "res_stasis_recording.so",
    "app_stasis.so",
    "res_stasis_snoop.so",
    "res_http_websocket.so",
    "res_websocket_client.so",
    "res_ari.so",
    "res_ari_model.so",
    "res_ari_asterisk.so",
    "res_ari_applications.so",
    "res_ari_channels.so",
    "res_ari_bridges.so",
    "res_ari_events.so",
    "res_audiosocket.so",
    "chan_audiosocket.so",
)

QUIET_DEFAULTS = (
    "acl.conf", "ccss.conf", "cel.conf", "features.conf", "indications.conf", "pjproject.conf",
    "udptl.conf", "websocket_client.conf", "stasis.conf",
)  # fmt: skip


def chroot_dir() -> Path:
    """The Debian sid chroot with Asterisk 22 that `scripts/setup --test` builds."""
    cache = Path(os.environ.get("HEATMON_TEST_CACHE") or Path.home() / ".cache" / "heatmon-test")
    root = cache / "asterisk-sid"
    if not (root / "usr" / "sbin" / "asterisk").exists():
        raise RuntimeError(
            f"no Asterisk chroot at {root}: run `scripts/setup --test` (it builds it with debootstrap)"
        )
    return root


@dataclass
class Agent:
    """An agent's SIP endpoint: Asterisk dials sip:NAME@127.0.0.1:PORT (a sipp UAS there)."""

    name: str
    port: int


@dataclass
class Asterisk:
    """One Asterisk process in the chroot, configured for heatmon's AudioSocket calls."""

    agents: list[Agent]
    app: str = "heatmon"
    ari_user: str = "heatmon"
    ari_password: str = field(default_factory=lambda: uuid.uuid4().hex)
    sip_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    root: Path = field(default_factory=chroot_dir)
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    proc: subprocess.Popen[bytes] | None = None

    @property
    def inside(self) -> Path:
        """This instance's directory as Asterisk sees it (inside the chroot)."""
        return Path("/run/heatmon-test") / self.name

    @property
    def outside(self) -> Path:
        return self.root / self.inside.relative_to("/")

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> str:
        """What Asterisk logged so far (notices, warnings, errors, verbose)."""
        path = self.outside / "log" / "full"
        return path.read_text(errors="replace") if path.exists() else ""

    def write_config(self) -> None:
        etc = self.outside / "etc"
        for sub in ("etc", "run", "log", "spool", "lib", "cache"):
            (self.outside / sub).mkdir(parents=True, exist_ok=True)
        d = self.inside
        files = {
            "asterisk.conf": f"""\
[directories]
astetcdir => {d}/etc
astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules
astvarlibdir => {d}/lib
astdbdir => {d}/lib
astkeydir => {d}/lib
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {d}/spool
astrundir => {d}/run
astlogdir => {d}/log
astcachedir => {d}/cache
astsbindir => /usr/sbin
[options]
verbose = 3
""",
            "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load = {m}\n" for m in MODULES),
            "logger.conf": "[general]\n[logfiles]\nfull => notice,warning,error,verbose\n",
            # RTP below the kernel's ephemeral ports (32768 on), which busy machines fill
            "rtp.conf": "[general]\nrtpstart = 20000\nrtpend = 32000\nicesupport = no\n",
            "http.conf": f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {self.http_port}\n",
            "ari.conf": f"""\
[general]
enabled = yes
[{self.ari_user}]
type = user
read_only = no
password = {self.ari_password}
password_format = plain
""",
            "pjsip.conf": self._pjsip(),
            "extensions.conf": f"""\
[general]
static = yes
writeprotect = yes
[heatmon-in]
; every number: the agent taking it, heatmon's fork of the two parties, then the agent's phone
exten => _X.,1,Set(HEATMON_AGENT={self.agents[0].name})
 same => n,Stasis({self.app})
 same => n,Dial(PJSIP/{self.agents[0].name},30)
 same => n,Hangup()
""",
        }
        # Configurations Asterisk reads at start whatever is loaded: empty means defaults
        # (and no CDR files).
        for name in QUIET_DEFAULTS:
            files.setdefault(name, "")
        files["cdr.conf"] = "[general]\nenable = no\n"
        files["indications.conf"] = "[general]\ncountry = us\n[us]\ndescription = US\n"
        for name, text in files.items():
            (etc / name).write_text(text)
        # Names resolve from the chroot's hosts file alone: pjsip looks up the machine's own
        # name at start, and no DNS query may leave the machine.
        host = socket.gethostname()
        (self.root / "etc" / "hosts").write_text(f"127.0.0.1 localhost {host}\n::1 localhost {host}\n")
        (self.root / "etc" / "resolv.conf").write_text("nameserver 127.0.0.1\n")

    def _pjsip(self) -> str:
        media = "direct_media = no\nmedia_address = 127.0.0.1\nbind_rtp_to_media_address = yes\n"
        text = f"""\
[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{self.sip_port}

[caller]
type = endpoint
transport = transport-udp
context = heatmon-in
disallow = all
allow = ulaw
{media}
[caller]
type = identify
endpoint = caller
match = 127.0.0.1
"""
        for agent in self.agents:
            text += f"""
[{agent.name}]
type = endpoint
transport = transport-udp
context = heatmon-in
disallow = all
allow = ulaw
aors = {agent.name}
{media}
[{agent.name}]
type = aor
contact = sip:{agent.name}@127.0.0.1:{agent.port}
"""
        return text

    def start(self, timeout: float = 120.0) -> None:
        """Start `asterisk -f` and wait until ARI answers (or fail with its log)."""
        self.write_config()
        self.proc = subprocess.Popen(
            ["chroot", str(self.root), "asterisk", "-f", "-n", "-C", f"{self.inside}/etc/asterisk.conf"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"asterisk exited with {self.proc.returncode}:\n{self.log[-4000:]}")
            if self._ari_ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"asterisk was not ready in {timeout} s:\n{self.log[-4000:]}")

    def _ari_ready(self) -> bool:
        request = urllib.request.Request(f"{self.ari_url}/ari/asterisk/info")
        auth = base64.b64encode(f"{self.ari_user}:{self.ari_password}".encode()).decode()
        request.add_header("Authorization", f"Basic {auth}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def cli(self, command: str, timeout: float = 30.0) -> str:
        """Run one CLI command in the running Asterisk (`asterisk -rx`)."""
        done = subprocess.run(
            ["chroot", str(self.root), "asterisk", "-C", f"{self.inside}/etc/asterisk.conf", "-rx", command],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return done.stdout.decode(errors="replace")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop Asterisk (gracefully, then by signal) and remove this instance's files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        shutil.rmtree(self.outside, ignore_errors=True)
