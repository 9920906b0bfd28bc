"""Masking card numbers and other long digit runs in transcript text.

A speech recogniser writes a card number as words ("four one one one one one one one ..."),
a keyboard as digits ("4111 1111 1111 1111"), and callers mix the two, say "oh" for zero,
"double five" for 55 and group digits as "forty one". We read the text as a sequence of
tokens, turn every number word or digit group into the digits it stands for, and mask a
run of such tokens once it stands for at least `MIN_DIGITS` digits. Short numbers stay
readable: times ("ten thirty"), amounts ("twenty dollars"), durations ("three weeks"),
years and the last four digits of a card ("ending in four two four two").

Pure: no I/O. The same detection works on a transcript string and on Vosk's per-word list.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Runs shorter than this stay readable. Six digits keeps times, years, zip codes and the
#: last four of a card, and still catches card, account, phone and social security numbers.
MIN_DIGITS = 6

UNITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
    "eighty": "8", "ninety": "9",
}  # fmt: skip
REPEATS = {"double": 2, "triple": 3}
AMBIGUOUS_ZEROS = frozenset({"oh", "o"})
#: Words a recogniser writes for a digit it heard inside a digit string ("one for one one").
HOMOPHONES = frozenset({"for", "to", "too", "won", "ate"})
#: Hesitations and separators a caller says between digit groups without ending the number.
FILLERS = frozenset({"uh", "um", "er", "erm", "ah", "dash", "hyphen", "-"})

_DIGIT_TOKEN = re.compile(r"^\d+(?:[-.]\d+)*$")
_TOKEN = re.compile(r"\S+")
_EDGE_PUNCT = ".,;:!?\"'()"


def mask_label(digits: int) -> str:
    """What a masked run is replaced by in text: says that a number was there, not which."""
    return f"[{digits} digits redacted]"


def digit_runs(tokens: Sequence[str], min_digits: int = MIN_DIGITS) -> list[tuple[int, int, int]]:
    """The runs of number tokens to mask, as (first index, end index, digit count)."""
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(tokens):
        step, digits = _number_at(tokens, i)
        if not step:
            i += 1
            continue
        start, end, count = i, i + step, digits
        j = end
        while j < len(tokens):
            k = j
            while k < len(tokens) and _bare(tokens[k]) in FILLERS:
                k += 1
            step, digits = _number_at(tokens, k)
            if not step:
                break
            end, count, j = k + step, count + digits, k + step
        if count >= min_digits:
            runs.append((start, end, count))
        i = end
    return runs


def redact_text(text: str, min_digits: int = MIN_DIGITS) -> str:
    """The text with each long digit run replaced by a label; other text as it was."""
    matches = list(_TOKEN.finditer(text))
    runs = digit_runs([m.group() for m in matches], min_digits)
    return _mask_typed(_replace_runs(text, matches, runs), min_digits)


@dataclass(frozen=True, slots=True)
class Continued:
    """A turn redacted as a possible continuation of a number its speaker began before."""

    text: str  # this turn's text, redacted
    masked_head: int  # how many of its first words belong to the continued number (masked)
    previous_text: str | None  # the previous turn's text with its trailing number masked, if that is new
    masked_tail: int  # how many of the previous turn's last words that masks
    carry: int  # digits of the number this turn ends with (with the ones before it), 0 if none


def redact_continuing(
    text: str, previous_text: str = "", carry: int = 0, min_digits: int = MIN_DIGITS
) -> Continued:
    """Redact a turn that may go on with the number the same party's previous turn ended in.

    Callers read card numbers in groups ("four five three two" ... "eight one seven seven")
    and a recogniser often makes each group its own turn, too short to mask alone. `carry`
    is the digit count of the number the previous turn ended with (`Continued.carry` of
    that turn); when this turn starts with digits and the two together reach `min_digits`,
    both ends are masked. Pure: the caller keeps the carry and stores the texts.
    """
    matches = list(_TOKEN.finditer(text))
    tokens = [m.group() for m in matches]
    runs = digit_runs(tokens, 1)
    lead = runs[0] if runs and all(_bare(t) in FILLERS for t in tokens[: runs[0][0]]) else None
    head = lead is not None and carry > 0 and carry + lead[2] >= min_digits
    masked_text, previous, tail = text, None, 0
    if head and lead is not None:
        masked_text = _replace_runs(text, matches, [lead])
        prev_matches = list(_TOKEN.finditer(previous_text))
        prev_runs = digit_runs([m.group() for m in prev_matches], 1)
        if prev_runs and _only_fillers_after(prev_matches, prev_runs[-1][1]):
            previous = _replace_runs(previous_text, prev_matches, [prev_runs[-1]])
            tail = len(prev_matches) - prev_runs[-1][0]
    out_carry = 0
    if runs and _only_fillers_after(matches, runs[-1][1]):
        out_carry = runs[-1][2] + (carry if lead is not None and runs[-1] == lead else 0)
    return Continued(
        redact_text(masked_text, min_digits), lead[1] if head and lead else 0, previous, tail, out_carry
    )


def _only_fillers_after(matches: Sequence[re.Match[str]], end: int) -> bool:
    return all(_bare(m.group()) in FILLERS for m in matches[end:])


def _replace_runs(text: str, matches: Sequence[re.Match[str]], runs: Sequence[tuple[int, int, int]]) -> str:
    if not runs:
        return text
    out: list[str] = []
    pos = 0
    for first, end, count in runs:
        out.append(text[pos : matches[first].start()])
        out.append(mask_label(count))
        last = matches[end - 1].group()
        # Keep the punctuation a typist put after the number ("... 1111." stays a sentence).
        out.append(last[len(last.rstrip(_EDGE_PUNCT)) :])
        pos = matches[end - 1].end()
    out.append(text[pos:])
    return "".join(out)


def _mask_typed(text: str, min_digits: int) -> str:
    """Typed digits glued to other characters ("ref:4111111111111111"), which the token pass
    cannot see, are caught here, after it."""
    pattern = _typed_run(min_digits)
    return pattern.sub(lambda m: mask_label(sum(ch.isdigit() for ch in m.group())), text)


@functools.cache
def _typed_run(min_digits: int) -> re.Pattern[str]:
    return re.compile(rf"\d(?:[\s-]*\d){{{min_digits - 1},}}")


def redact_words(words: Sequence[Mapping[str, Any]], min_digits: int = MIN_DIGITS) -> list[dict[str, Any]]:
    """Vosk's word list (dicts with `word`) with the words of long digit runs replaced by `*`."""
    tokens = [str(w.get("word", "")) for w in words]
    out = [dict(w) for w in words]
    for first, end, _ in digit_runs(tokens, min_digits):
        for index in range(first, end):
            out[index]["word"] = "*"
    return out


def mask_word_span(words: Sequence[Mapping[str, Any]], first: int, end: int) -> list[dict[str, Any]]:
    """A copy of a word list with the words in [first, end) replaced by `*`."""
    return [dict(w, word="*") if first <= i < end else dict(w) for i, w in enumerate(words)]


def redact_event(event: Mapping[str, Any], min_digits: int = MIN_DIGITS) -> dict[str, Any]:
    """A copy of a wire event (DESIGN.md section 4, hub extras) with every spoken text masked."""
    out = dict(event)
    for key in ("text", "message"):
        if isinstance(out.get(key), str):
            out[key] = redact_text(out[key], min_digits)
    if isinstance(out.get("evidence"), (list, tuple)):
        out["evidence"] = [redact_text(e, min_digits) if isinstance(e, str) else e for e in out["evidence"]]
    if isinstance(out.get("words"), (list, tuple)):
        out["words"] = redact_words([w for w in out["words"] if isinstance(w, Mapping)], min_digits)
    return out


def _bare(token: str) -> str:
    return token.strip(_EDGE_PUNCT).lower()


def _number_at(tokens: Sequence[str], i: int) -> tuple[int, int]:
    """How many tokens from `i` form one number group, and how many digits it stands for."""
    if i >= len(tokens):
        return 0, 0
    word = _bare(tokens[i])
    nxt = _bare(tokens[i + 1]) if i + 1 < len(tokens) else ""
    if _DIGIT_TOKEN.match(word):
        return 1, sum(ch.isdigit() for ch in word)
    if word in REPEATS and nxt in UNITS:
        return 2, REPEATS[word]
    if word in TENS:
        # "forty one" is one group of two digits; "forty" alone is two digits as well.
        return (2, 2) if nxt in UNITS and UNITS[nxt] != "0" else (1, 2)
    if word in TEENS or (word in UNITS and word not in AMBIGUOUS_ZEROS):
        return 1, len(TEENS.get(word, "0"))
    if word in AMBIGUOUS_ZEROS or word in HOMOPHONES:
        # "oh" and "for" are digits only among other digits: "oh no", "waiting for three weeks".
        if _is_digit_word(tokens, i - 1) and (word in AMBIGUOUS_ZEROS or _is_digit_word(tokens, i + 1)):
            return 1, 1
        if word in AMBIGUOUS_ZEROS and _is_digit_word(tokens, i + 1):
            return 1, 1
    return 0, 0


def _is_digit_word(tokens: Sequence[str], i: int) -> bool:
    if not 0 <= i < len(tokens):
        return False
    word = _bare(tokens[i])
    return word in UNITS or word in TEENS or word in TENS or bool(_DIGIT_TOKEN.match(word))


class LiveRedactor:
    """Masks events on their way to the live board, as `--redact` asks, before anything keeps them.

    Per call and party it keeps the digit count of the number the last turn ended with, so a
    card number read in groups is masked from the group that makes it long enough onwards,
    in partials too (the store, which can still rewrite a turn, masks the earlier groups as
    well). A short acknowledgement by the other party does not end the number; a real turn
    does. Pure: events in, masked copies out.
    """

    #: An other-party turn this short and without digits is an acknowledgement, not a new topic.
    BACKCHANNEL_WORDS = 3
    #: Calls remembered at most (a hub that never sees call_ended must not grow without bound).
    MAX_CALLS = 50_000

    def __init__(self, min_digits: int = MIN_DIGITS) -> None:
        self.min_digits = min_digits
        self._carry: dict[str, dict[str, int]] = {}  # call -> speaker -> digits carried

    def event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A masked copy of a wire event: spoken text, words, alert messages and evidence."""
        kind, call = event.get("type"), str(event.get("call"))
        if kind in ("call_started", "call_ended"):
            self._carry.pop(call, None)
        text = event.get("text")
        if kind not in ("turn", "partial") or not isinstance(text, str):
            return redact_event(event, self.min_digits)
        speaker = str(event.get("speaker"))
        carried = self._carry.get(call, {})
        if kind == "turn" and (len(text.split()) > self.BACKCHANNEL_WORDS or digit_runs(text.split(), 1)):
            carried = {speaker: carried.get(speaker, 0)}  # a real turn ends the other party's number
        result = redact_continuing(text, "", carried.get(speaker, 0), self.min_digits)
        out = redact_event({**event, "text": result.text}, self.min_digits)
        if result.masked_head and isinstance(event.get("words"), (list, tuple)):
            out["words"] = mask_word_span(out["words"], 0, result.masked_head)
        if kind == "turn":
            if call not in self._carry and len(self._carry) >= self.MAX_CALLS:
                self._carry.clear()
            self._carry[call] = {**carried, speaker: result.carry}
        return out

    def forget(self, call: str) -> None:
        """Drop what is remembered of a call (it left the floor)."""
        self._carry.pop(call, None)
