"""The demo floor: simulated calls from the written demo calls, as transcripts or speech."""
