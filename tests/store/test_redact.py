"""Redaction of card numbers and other long digit runs, spoken or typed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.redact import (
    MIN_DIGITS,
    UNITS,
    digit_runs,
    redact_continuing,
    redact_event,
    redact_text,
    redact_words,
)

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "my card is four one one one one one one one one one one one one one one one thanks",
            "my card is [16 digits redacted] thanks",
        ),
        ("it's 4111 1111 1111 1111.", "it's [16 digits redacted]."),
        ("number 4111-1111-1111-1111 ok", "number [16 digits redacted] ok"),
        (
            "account seven seven one four two nine zero three eight please",
            "account [9 digits redacted] please",
        ),
        (
            "call me on oh seven seven double oh nine one two three four five six",
            "call me on [12 digits redacted]",
        ),
        ("it's five five five uh two one eight um four four seven zero", "it's [10 digits redacted]"),
        ("the code is forty one twelve ninety nine eighty eight", "the code is [8 digits redacted]"),
        ("triple seven one two three", "[6 digits redacted]"),
        ("ref:4111111111111111, thanks", "ref:[16 digits redacted], thanks"),
        ("one for one two three nine", "[6 digits redacted]"),  # "for" heard for "four" among digits
    ],
)
def test_long_digit_runs_are_masked(text: str, expected: str) -> None:
    """Card, account and phone numbers in words, digits, groups and repeats become one label."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i have been waiting for three weeks",
        "it's eighty nine ninety nine two times",
        "twenty dollars at ten thirty",
        "ending in four two four two",
        "oh no not again",
        "expiry oh nine twenty eight",
        "one hundred and twelve dollars forty",
        "the twelfth of march nineteen fifty eight",
        "i called two or three times in twenty twenty four",
        "zip code zero two one three nine",
        "waiting for one two three",
    ],
)
def test_short_numbers_stay_readable(text: str) -> None:
    """Times, amounts, durations, years, zip codes and a card's last four are left alone."""
    assert redact_text(text) == text


def test_word_lists_are_masked_word_by_word() -> None:
    """Vosk's per-word results lose the digits of a long run and keep their timing."""
    words = [
        {"word": w, "start": i * 0.3, "end": i * 0.3 + 0.25, "conf": 1.0}
        for i, w in enumerate(
            ["card", "four", "five", "three", "two", "eight", "one", "seven", "seven", "thanks"]
        )
    ]
    out = redact_words(words)
    assert [w["word"] for w in out] == ["card", *["*"] * 8, "thanks"]
    assert [w["start"] for w in out] == [w["start"] for w in words]
    assert words[1]["word"] == "four"  # the input is not changed


def test_redact_event_masks_every_spoken_text_field() -> None:
    """Turns, partials, alert evidence and supervisor messages are all masked; other fields kept."""
    number = "four five three two eight one seven seven"
    turn = {
        "type": "turn",
        "call": "c",
        "t": 1.0,
        "speaker": "caller",
        "text": f"it's {number}",
        "start": 0.0,
        "end": 1.0,
        "words": [{"word": w} for w in number.split()],
    }
    out = redact_event(turn)
    assert out["text"] == "it's [8 digits redacted]" and {w["word"] for w in out["words"]} == {"*"}
    assert out["start"] == 0.0 and turn["text"] == f"it's {number}"
    alert = redact_event(
        {
            "type": "alert",
            "call": "c",
            "t": 1,
            "id": "a",
            "kind": "k",
            "level": "hot",
            "message": f"said {number}",
            "evidence": [number, "supervisor"],
        }
    )
    assert alert["evidence"] == ["[8 digits redacted]", "supervisor"]
    assert alert["message"] == "said [8 digits redacted]"
    message = redact_event({"type": "supervisor_message", "call": "c", "from": "x", "text": f"card {number}"})
    assert message["text"] == "card [8 digits redacted]"


@given(st.lists(st.sampled_from(DIGIT_WORDS), min_size=MIN_DIGITS, max_size=19))
def test_any_spoken_digit_string_of_six_or_more_is_masked(digits: list[str]) -> None:
    """However a long number is spoken digit by digit, none of its digit words survive."""
    out = redact_text("my number is " + " ".join(digits) + " thank you")
    assert out == f"my number is [{len(digits)} digits redacted] thank you"


@given(st.lists(st.sampled_from(DIGIT_WORDS), min_size=1, max_size=MIN_DIGITS - 1))
def test_any_spoken_digit_string_under_six_is_kept(digits: list[str]) -> None:
    """A short number spoken digit by digit stays as it was."""
    text = "room " + " ".join(digits) + " please"
    assert redact_text(text) == text


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80))
def test_redaction_never_leaves_six_digits_in_a_row(text: str) -> None:
    """Whatever the text, no run of six digits (with spaces or dashes between) survives."""
    assert not re.search(r"\d(?:[\s-]*\d){5,}", redact_text(text))


def test_units_and_runs_agree() -> None:
    """digit_runs reports where a run starts and ends and how many digits it holds."""
    tokens = ["so", "it's", "double", "five", "five", "two", "one", "oh", "nine", "and"]
    assert digit_runs(tokens) == [(2, 9, 7)]
    assert UNITS["oh"] == "0"


def test_a_number_read_over_several_turns_is_masked_in_all_of_them() -> None:
    """Groups of four digits, each its own turn, are masked once together they are long enough."""
    first = redact_continuing("it's four five three two")
    assert (first.text, first.carry) == ("it's four five three two", 4)
    second = redact_continuing("eight one seven seven", first.text, first.carry)
    assert second.text == "[4 digits redacted]" and second.masked_head == 4
    assert second.previous_text == "it's [4 digits redacted]" and second.masked_tail == 4
    third = redact_continuing("zero nine one five thanks", second.text, second.carry)
    assert third.text == "[4 digits redacted] thanks" and third.previous_text is None and third.carry == 0
    assert redact_continuing("three weeks ago", "i called two", 1).text == "three weeks ago"
    assert redact_continuing("four two", "ending in", 0).masked_head == 0
