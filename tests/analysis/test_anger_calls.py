"""The anger layer in heatmon's turn score, heat reasons, alert evidence and `heatmon score`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.analysis.chain import CallAnalysis
from monitor.analysis.lexicon import asr_like
from monitor.analysis.sentiment import TurnScorer
from monitor.events import Alert, Heat, Turn

ROOT = Path(__file__).resolve().parents[2]
LINES = [
    ROOT / "models" / "anger" / "caller_lines.tsv",
    ROOT / "models" / "anger" / "caller_lines_heldout.tsv",
]

#: Callers heatmon used to misread (sarcasm, contempt, a fed-up repeat caller). They are test
#: lines only: neither they nor near-copies are in the lines the model is trained on.
MISREAD = [
    "great just great another hour on hold",
    "oh wonderful you lost my order again",
    "thank you for nothing",
    "i'm paying a hundred and twenty bucks a month for a black screen you people are a joke",
    "hi this is the third time i'm calling about the same thing and i'm honestly running out of patience",
]


@pytest.fixture(scope="module")
def scorer() -> TurnScorer:
    return TurnScorer()


@pytest.mark.parametrize("text", MISREAD)
def test_sarcasm_contempt_and_fed_up_callers_score_clearly_negative(scorer: TurnScorer, text: str) -> None:
    """Lines VADER reads as polite or neutral get a clearly negative heatmon score."""
    result = scorer.score(asr_like(text))
    assert result.score <= -0.3, (text, result)


@pytest.mark.parametrize(
    "text",
    [
        "thank you so much you have been really helpful",
        "oh no problem at all thanks for checking",
        "my account number is four seven two nine",
        "my husband passed away last month and i need to close his account",
        "could you tell me when my next bill is due",
    ],
)
def test_calm_sad_and_thankful_callers_are_not_read_as_angry(scorer: TurnScorer, text: str) -> None:
    """Thanks, negated negatives, account details and grief do not read as anger."""
    result = scorer.score(text)
    assert result.anger is not None and result.anger.probability < 0.3, (text, result.anger)
    assert result.score >= -0.1


def test_the_misread_lines_are_not_in_the_training_lines() -> None:
    """No caller line shares five words in a row with a test line, contains it, or mostly repeats it."""
    tests = [asr_like(t).split() for t in MISREAD]
    for path in LINES:
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            words = line.split("\t")[0].split()
            grams = {tuple(words[i : i + 5]) for i in range(len(words) - 4)}
            joined = " ".join(words)
            for test in tests:
                assert " ".join(test) not in joined, line
                assert grams.isdisjoint(tuple(test[i : i + 5]) for i in range(len(test) - 4)), line
                overlap = len(set(words) & set(test)) / len(set(words) | set(test))
                assert overlap < 0.7, line


def test_caller_lines_are_asr_like_and_labelled() -> None:
    """The shipped caller lines are lowercase words only, labelled 0/1 with a category, and plenty."""
    total = 0
    for path in LINES:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "text\tlabel\tcategory"
        for line in lines[1:]:
            text, label, category = line.split("\t")
            assert asr_like(text) == text and not any(c.isdigit() for c in text), line
            assert label in ("0", "1") and category
            total += 1
    assert total >= 2800


def turn(speaker: str, text: str, start: float, end: float) -> Turn:
    return Turn(call="c", t=end, speaker=speaker, text=text, start=start, end=end)


def test_angry_ngrams_are_heat_reasons_and_alert_evidence() -> None:
    """A contemptuous caller's heat event names the words the anger layer heard, and so does the hot alert."""
    analysis = CallAnalysis("c")
    events = []
    lines = [
        "you lot are absolutely useless and this is a disgrace",
        "what a pathetic excuse for a company you are all clueless",
        "i am sick of your lies and your excuses",
    ]
    for i, text in enumerate(lines):
        events += analysis.on_turn(turn("caller", text, i * 10.0, i * 10.0 + 5.0))
    first = events[0]
    assert isinstance(first, Turn) and first.sentiment is not None
    assert first.sentiment["anger"] > 0.7 and first.sentiment["score"] < -0.5
    reasons = [r for e in events if isinstance(e, Heat) for r in e.reasons]
    assert any(r.startswith("sounds angry: ") for r in reasons), reasons
    heat_alerts = [e for e in events if isinstance(e, Alert) and e.kind in ("hot", "boiling", "rising_fast")]
    assert heat_alerts, events
    assert any(ev.startswith("sounds angry: ") for a in heat_alerts for ev in a.evidence)


def test_a_curt_reply_after_a_rant_reads_hotter_than_alone() -> None:
    """The previous caller turn is context: 'whatever' after a rant reads angrier than on its own."""
    alone = CallAnalysis("a").on_turn(turn("caller", "whatever", 0.0, 1.0))[0]
    analysis = CallAnalysis("b")
    analysis.on_turn(turn("caller", "you lot are absolutely useless and i am furious", 0.0, 4.0))
    after = analysis.on_turn(turn("caller", "whatever", 5.0, 6.0))[0]
    assert isinstance(alone, Turn) and isinstance(after, Turn)
    assert alone.sentiment is not None and after.sentiment is not None
    assert after.sentiment["anger"] > alone.sentiment["anger"] + 0.1


def test_an_agent_step_ends_the_carried_over_anger() -> None:
    """Once the agent empathised, the caller's short answer is read on its own, not as more of the rant."""
    analysis = CallAnalysis("c")
    analysis.on_turn(turn("caller", "you lot are absolutely useless and i am furious", 0.0, 4.0))
    analysis.on_turn(turn("agent", "i am so sorry that must be really frustrating", 4.5, 7.0))
    answer = analysis.on_turn(turn("caller", "whatever", 8.0, 9.0))[0]
    alone = CallAnalysis("d").on_turn(turn("caller", "whatever", 0.0, 1.0))[0]
    assert isinstance(answer, Turn) and isinstance(alone, Turn)
    assert answer.sentiment is not None and alone.sentiment is not None
    assert answer.sentiment["anger"] == alone.sentiment["anger"]


def run_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_score_prints_the_anger_layer_beside_compound_and_score() -> None:
    """`heatmon score` prints P(angry) and its n-grams between VADER's figures and heatmon's score."""
    done = run_cli("score", "--asr-like", stdin="You people are useless!\nthanks so much\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    keys = list(rows[0])
    assert keys.index("compound") < keys.index("anger") < keys.index("score")
    assert rows[0]["anger"] > 0.5 and rows[0]["anger_ngrams"]
    assert all(set(g) == {"ngram", "share"} for g in rows[0]["anger_ngrams"])
    assert rows[1]["anger"] < 0.3 and rows[1]["anger_ngrams"] == []
    said = " ".join(rows[0]["anger_phrases"])
    assert rows[0]["anger_phrases"] and all(g["ngram"] in said for g in rows[0]["anger_ngrams"])


def test_score_does_not_import_the_hub_speech_or_store() -> None:
    """`heatmon score` registers only itself, so the hub, demo, speech and store code is never imported."""
    code = (
        "import io, sys\n"
        "sys.stdin = io.StringIO('hi\\n')\n"
        "from monitor.cli import main\n"
        "main(['score'])\n"
        "heavy = [m for m in sys.modules if m.startswith(('monitor.hub', 'monitor.demo', 'monitor.pipeline',"
        " 'monitor.asr', 'monitor.audio', 'monitor.store', 'vosk', 'websockets'))]\n"
        "print(heavy, file=sys.stderr)\n"
        "assert not heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "hi"
