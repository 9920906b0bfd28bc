#!/bin/sh
# Streams the agent's WAV ($AGENT_WAV) as PCMU RTP in 20 ms packets to 127.0.0.1 port $1, in real
# time, from GStreamer in the background (sipp does not wait for it); its pid goes to $AGENT_PIDFILE.
# Bounded: GStreamer stops at the end of the file, and `timeout` stops it after 120 s anyway.
timeout 120 gst-launch-1.0 -q filesrc location="$AGENT_WAV" ! wavparse ! audioconvert ! audioresample \
    ! audio/x-raw,rate=8000,channels=1 ! mulawenc \
    ! rtppcmupay min-ptime=20000000 max-ptime=20000000 pt=0 \
    ! udpsink host=127.0.0.1 port="$1" >/dev/null 2>&1 &
echo $! > "$AGENT_PIDFILE"
