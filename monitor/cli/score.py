"""`heatmon score`: score caller texts, one JSON line out per line in, for bulk evaluation."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from monitor.analysis.lexicon import Lexicon, asr_like
from monitor.analysis.sentiment import TurnScorer
from monitor.cli.common import add_subparser
from monitor.datafile import finite_json
from monitor.errors import InputError
from monitor.transcripts.reader import check_text_length


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_subparser(
        sub,
        "score",
        help="score caller texts (plain lines or JSON lines with a text field)",
        description="""\
Score caller texts the way heatmon scores caller turns, and print one JSON
line per input line, in order: `compound`, `neg`, `neu`, `pos` (raw VADER),
`anger` (the learned layer's probability that the caller is angry, annoyed or
contemptuous) with `anger_ngrams` (the words that pushed it up, with their
share) and `anger_phrases` (the same as the caller said them), `score`
(heatmon's turn score on the same -1..1 scale; lower = more negative / heated)
and the lexicon `cues` that moved it. Each line is scored on its own (no
previous turn as context). Input lines are plain text, or JSON
objects with a "text" field (their "id", if any, is copied to the output).
Reads the files given, or standard input.

examples:
  echo "this is the third time i am calling" | heatmon score
  heatmon score --asr-like turns.jsonl > scored.jsonl
  heatmon score --lexicon my-lexicon.json texts.txt""",
    )
    parser.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="input files; - or none: standard input"
    )
    parser.add_argument(
        "--asr-like",
        action="store_true",
        help="lowercase and strip punctuation first, as a speech recogniser writes",
    )
    parser.add_argument(
        "--skip-bad", action="store_true", help="a bad JSON line gets an error line, not a stop"
    )
    parser.add_argument("--lexicon", type=Path, metavar="FILE", help="domain lexicon JSON (default: bundled)")
    parser.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    scorer = TurnScorer(Lexicon.from_file(args.lexicon) if args.lexicon else None)
    out = sys.stdout
    for name, number, line in _lines(args.files):
        try:
            text, extra = parse_input(line)
        except InputError as err:
            if not args.skip_bad:
                raise InputError(f"{name}:{number}: {err}") from err
            print(f"heatmon: warning: {name}:{number}: {err}", file=sys.stderr)
            out.write(json.dumps({"line": number, "error": str(err)}) + "\n")
            continue
        out.write(json.dumps(score_record(scorer, text, extra, args.asr_like), ensure_ascii=False) + "\n")
    out.flush()
    return 0


def score_record(scorer: TurnScorer, text: str, extra: dict[str, Any], make_asr_like: bool) -> dict[str, Any]:
    """The output object for one input text."""
    result = scorer.score(asr_like(text) if make_asr_like else text)
    anger = result.anger
    return {
        **extra,
        "text": text,
        "compound": result.compound,
        "neg": result.neg,
        "neu": result.neu,
        "pos": result.pos,
        "anger": round(anger.probability, 4) if anger else None,
        "anger_ngrams": [{"ngram": g, "share": s} for g, s in anger.ngrams] if anger else [],
        "anger_phrases": list(anger.phrases) if anger else [],
        "score": result.score,
        "cues": [
            {"category": c.category, "phrase": c.phrase, "valence": round(c.valence, 3)} for c in result.cues
        ],
    }


def parse_input(line: str) -> tuple[str, dict[str, Any]]:
    """A plain line is the text; a line starting with '{' must be a JSON object with a string "text"."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        check_text_length(stripped)
        return stripped, {}
    try:
        data = finite_json(stripped)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON ({err.msg})") from err
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise InputError('a JSON line needs a string "text" field')
    check_text_length(data["text"])
    return data["text"], ({"id": data["id"]} if "id" in data else {})


def _lines(files: list[Path]) -> Iterator[tuple[str, int, str]]:
    if not files:
        yield from _numbered("<stdin>", sys.stdin)
        return
    for path in files:
        if str(path) == "-":
            yield from _numbered("<stdin>", sys.stdin)
            continue
        try:
            with path.open(encoding="utf-8") as f:
                yield from _numbered(str(path), f)
        except FileNotFoundError as err:
            hint = "" if path.suffix else " (to score a text itself, pipe it: echo TEXT | heatmon score)"
            raise InputError(f"cannot read {path}: {err.strerror or err}{hint}") from err
        except OSError as err:
            raise InputError(f"cannot read {path}: {err.strerror or err}") from err
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: not UTF-8 text ({err.reason})") from err


def _numbered(name: str, lines: Iterable[str]) -> Iterator[tuple[str, int, str]]:
    for number, line in enumerate(lines, start=1):
        yield name, number, line
