"""Turn scoring: VADER plus the call-centre domain layer, on ASR-like text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.analysis.anger_score import normalize, raw_sum
from monitor.analysis.lexicon import BUNDLED_LEXICON, Lexicon, asr_like, bundled_lexicon, tokens_of
from monitor.analysis.sentiment import TurnScorer
from monitor.errors import InputError


@pytest.fixture(scope="module")
def scorer() -> TurnScorer:
    return TurnScorer()


def test_asr_like_lowercases_and_strips_punctuation() -> None:
    """ASR-like text is lowercase, without punctuation or apostrophes, single-spaced."""
    assert asr_like("I've been WAITING... for 3 weeks!!") == "ive been waiting for 3 weeks"
    assert tokens_of("Don't   you dare") == ["dont", "you", "dare"]


def test_raw_sum_inverts_vader_normalisation() -> None:
    """The raw valence sum recovered from compound normalises back to the same compound."""
    for x in (-7.0, -2.5, -0.4, 0.3, 1.9, 6.0):
        assert normalize(raw_sum(normalize(x))) == pytest.approx(normalize(x), abs=1e-4)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("nobody helped me", "problem"),
        ("this is the third time calling", "repeat_contact"),
        ("its still not working", "problem"),
        ("i was on hold for an hour", "problem"),
        ("i want to speak to your manager", "escalation"),
        ("just cancel my account", "escalation"),
        ("i will get a lawyer", "escalation"),
        ("you overcharged me", "problem"),
        ("you are an idiot", "abuse"),
    ],
)
def test_call_centre_phrases_vader_misses_score_negative(
    scorer: TurnScorer, text: str, category: str
) -> None:
    """Complaint, escalation and abuse language moves heatmon's score below VADER's and names the cue."""
    result = scorer.score(text)
    assert result.score < min(result.compound, 0.0) - 0.1
    assert category in result.categories()


def test_multiword_phrases_need_whole_words(scorer: TurnScorer) -> None:
    """A phrase matches on whole words only: "managerial" is not "manager"."""
    assert "escalation" not in scorer.score("his managerial style").categories()
    assert "escalation" in scorer.score("get me a manager").categories()


def test_no_problem_is_not_negative(scorer: TurnScorer) -> None:
    """The VADER slips "no problem", "no worries", "no thanks" never read as negative."""
    for text in ("no problem", "no problem at all thanks", "no worries", "no thanks"):
        assert scorer.score(text).score >= 0, text


def test_lost_apostrophe_is_not_hell(scorer: TurnScorer) -> None:
    """ASR text turns "he'll be there" into "hell be there"; that is not a curse."""
    assert scorer.score("hell be there at five").score >= 0
    assert scorer.score("ill call you back").score >= 0


def test_negated_cue_does_not_count(scorer: TurnScorer) -> None:
    """A cue right after a negator ("not angry") adds nothing."""
    assert "anger" not in scorer.score("im not angry").categories()
    assert "anger" in scorer.score("im angry").categories()


def test_score_is_on_vaders_scale_and_monotone_in_cues(scorer: TurnScorer) -> None:
    """Scores stay within -1..1 and more complaint lowers the score further."""
    one = scorer.score("nobody helped me").score
    two = scorer.score("nobody helped me and it is still not working").score
    three = scorer.score("nobody helped me and it is still not working you idiots").score
    assert -1.0 <= three < two < one < 0


def test_anger_scores_below_sadness(scorer: TurnScorer) -> None:
    """Heat is about anger: a hostile turn scores lower than an equally negative sad one."""
    sad = scorer.score("i am so sad and lonely")
    angry = scorer.score("you are so rude and annoying")
    assert angry.score < sad.score


def test_sentiment_object_has_raw_vader_and_score(scorer: TurnScorer) -> None:
    """The turn's sentiment carries VADER's compound/neg/neu/pos and heatmon's score."""
    sentiment = scorer.score("this is a waste of time").sentiment()
    assert set(sentiment) == {"compound", "neg", "neu", "pos", "score", "anger"}


def test_bundled_lexicon_is_read_once() -> None:
    """The bundled lexicon is one object per process, shared by every call."""
    assert bundled_lexicon() is bundled_lexicon()


def test_custom_lexicon_file_adds_phrases(tmp_path: Path) -> None:
    """A team's own lexicon file is used instead of the bundled one."""
    data = json.loads(BUNDLED_LEXICON.read_text(encoding="utf-8"))
    data["categories"]["problem"]["entries"]["broadband is down"] = -3.0
    path = tmp_path / "lexicon.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = TurnScorer(Lexicon.from_file(path)).score("my broadband is down")
    assert "problem: broadband is down" in [c.label() for c in result.cues]
    assert result.score < -0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"categories": {"x": {"entries": {"a": "loud"}}}}', "must be a number"),
        ('{"categories": {"x": {}}}', "needs 'entries'"),
        ("[]", "needs an object"),
    ],
)
def test_bad_lexicon_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    """A malformed lexicon file raises InputError saying what is wrong."""
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        Lexicon.from_file(path)


def test_missing_lexicon_file_is_a_clear_error(tmp_path: Path) -> None:
    """A lexicon path that does not exist raises InputError naming it."""
    with pytest.raises(InputError, match="cannot read lexicon"):
        Lexicon.from_file(tmp_path / "nope.json")


def test_fast_vader_path_gives_vaders_exact_figures(scorer: TurnScorer) -> None:
    """The emoji-scan shortcut for ASCII text returns exactly what polarity_scores returns."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    texts = [
        "i am kind of upset but it is fine",
        "this is NOT good!!! :(",
        "very very bad, but the agent was great",
        "",
        "  no  ",
        "the service sucks :) lol",
        "i'm sorta happy",
        "café is nice 😀",
    ]
    for text in texts:
        result = scorer.score(text)
        assert (result.compound, result.neg, result.neu, result.pos) == tuple(
            vader.polarity_scores(text)[k] for k in ("compound", "neg", "neu", "pos")
        ), text


def test_slip_for_a_lost_apostrophe_needs_the_apostrophe_lost(scorer: TurnScorer) -> None:
    """ "i'll" reached VADER whole, so the "ill" slip must not lift the score of that turn."""
    with_apostrophe = scorer.score("i'll tell you how you can help")
    assert with_apostrophe.score == with_apostrophe.compound
    assert "slip" not in with_apostrophe.categories()
