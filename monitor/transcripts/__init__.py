"""Transcripts in: the JSON-lines reader and replay through the chain, paced or not."""
