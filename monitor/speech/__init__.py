"""From call audio to turns: sources, levels and endpointing, the Vosk recogniser, the call
session, and the speech-model manifest, pull and overlay."""
