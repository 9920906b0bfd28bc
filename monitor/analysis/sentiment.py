"""Turn scoring: raw VADER plus heatmon's domain layer, fitted to speech-recognizer text.

This is the only module that imports vaderSentiment. ASR text is lowercase and has no
punctuation, so VADER's caps and "!" boosts never fire and call-centre complaints ("third
time calling", "speak to your manager") score 0. The domain layer adds their valence on
VADER's own scale: the raw VADER sum is recovered from `compound` (VADER's normalisation
is invertible), the cues' valences are added, and the sum is normalised the same way. So
`score` lives on the same -1..1 scale as `compound` and costs one VADER pass per turn.

The learned anger layer (`monitor.analysis.anger`) then reads the turn with VADER's figures
and the lexicon score as inputs; when it is confident the caller is angry it moves `score`
further toward negative (never toward positive), so sarcasm and contempt that VADER reads as
polite ("oh lovely another wrong delivery date") score as what they are.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer, SentiText

from monitor.analysis.anger import AngerModel, AngerReading, bundled_anger_model
from monitor.analysis.anger_score import normalize, raw_sum
from monitor.analysis.lexicon import Lexicon, bundled_lexicon, tokens_of

#: Splits text into words the way `tokens_of` does, but keeping apostrophes inside words.
_SPLIT = re.compile(r"[^\w']+")
#: Text with neither punctuation nor capitals, for which VADER's text preparation changes nothing.
_LOWER_PLAIN = re.compile(r"[a-z0-9 ]*")
#: The longest turn text heatmon takes, in characters (about 30 minutes of speech with no
#: pause a recogniser would end a turn at). The edges (transcripts, `heatmon score`) refuse
#: longer ones; scoring is linear in the text's length all the same.
MAX_TURN_TEXT = 10_000
#: VADER's checks around a sentiment word look at most 3 words back and 2 ahead (idioms,
#: negation, boosters, "least"); it is handed only that much of a long text (see `_near`).
_BEFORE, _AFTER = 3, 3


class Cue(NamedTuple):
    """One lexicon match in a turn: what matched, its category, and the valence it added."""

    category: str
    phrase: str
    valence: float

    def label(self) -> str:
        return f"{self.category}: {self.phrase}"


class TurnScore(NamedTuple):
    """Raw VADER figures and heatmon's score of one caller turn."""

    compound: float
    neg: float
    neu: float
    pos: float
    score: float
    cues: tuple[Cue, ...]
    #: The learned layer's reading (P(angry) and the n-grams behind it); None when not asked for.
    anger: AngerReading | None = None

    def sentiment(self) -> dict[str, float]:
        """The wire contract's `sentiment` object: raw VADER, heatmon's `score` and P(angry)."""
        out = {
            "compound": self.compound,
            "neg": self.neg,
            "neu": self.neu,
            "pos": self.pos,
            "score": self.score,
        }
        if self.anger is not None:
            out["anger"] = round(self.anger.probability, 4)
        return out

    def categories(self) -> frozenset[str]:
        return frozenset(c.category for c in self.cues)


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    # Loading VADER reads its lexicon files (~50 ms); many calls share one analyzer.
    return SentimentIntensityAnalyzer()


_SCORERS: dict[int, tuple[Lexicon | None, TurnScorer]] = {}


def scorer_for(lexicon: Lexicon | None) -> TurnScorer:
    """One scorer per lexicon per process: many calls share it."""
    key = id(lexicon)
    cached = _SCORERS.get(key)
    if cached is None or cached[0] is not lexicon:
        cached = (lexicon, TurnScorer(lexicon))
        _SCORERS[key] = cached
    return cached[1]


def anger_inputs(result: TurnScore) -> tuple[float, float, float, float]:
    """What the anger layer reads besides the words: VADER's compound with the slips' part
    taken out ("ill call you back" is not ill), VADER's neg and pos, and the lexicon score."""
    slips = sum(c.valence for c in result.cues if c.category == "slip")
    compound = normalize(raw_sum(result.compound) + slips) if slips else result.compound
    return compound, result.neg, result.pos, result.score


class TurnScorer:
    """Scores caller turns. Build one per lexicon (cheap after the first) and reuse it."""

    def __init__(self, lexicon: Lexicon | None = None, anger: AngerModel | None = None) -> None:
        self.lexicon = lexicon or bundled_lexicon()
        # The anger model is read on first use (the training script scores without it).
        self.anger = anger
        self._vader = _vader()
        self._index = self.lexicon.by_first_word
        self._settings = self.lexicon.settings
        # A slip cancels what VADER gives the phrase on its own ("no worries" reads as -0.6).
        # Indexed by first word, longest first, so "no problem" is matched before "no".
        slips: dict[str, list[tuple[tuple[str, ...], Cue]]] = {}
        for slip in sorted(set(self.lexicon.slips), key=len, reverse=True):
            phrase = " ".join(slip)
            correction = -raw_sum(self._vader.polarity_scores(phrase)["compound"])
            slips.setdefault(slip[0], []).append((slip, Cue("slip", phrase, correction)))
        self._slips = slips
        self._first_words = frozenset(self._index) | frozenset(slips)
        self._negated_stand = self.lexicon.negated_stand

    def score(self, text: str, previous: TurnScore | None = None, *, anger: bool = True) -> TurnScore:
        """VADER's figures for `text` as given, and heatmon's score with the cues that moved it.

        `previous` is the same caller's previous turn: anger in it carries into this one. With
        `anger=False` the learned layer is left out (the score is VADER plus the lexicon).
        """
        vs = self._vader_scores(text)
        compound: float = vs["compound"]
        words = tokens_of(text)
        cues = self._cues(words, _apostrophe_words(text, len(words)))
        score = compound
        settings = self._settings
        directed = (
            compound < 0 and settings.directed_factor != 1.0 and not settings.second_person.isdisjoint(words)
        )
        if cues or directed:
            x = raw_sum(compound) if compound else 0.0
            # Slips first: what is left of VADER's own valence is then read for direction.
            x += sum(c.valence for c in cues if c.category == "slip")
            if x < 0 and settings.directed_factor != 1.0 and not settings.second_person.isdisjoint(words):
                x *= settings.directed_factor
            x += sum(c.valence for c in cues if c.category != "slip")
            score = round(normalize(x), 4) + 0.0 if x else 0.0
        plain = TurnScore(compound, vs["neg"], vs["neu"], vs["pos"], score, cues)
        if not anger:
            return plain
        before = previous.anger.own_logit if previous is not None and previous.anger is not None else None
        model = self.anger
        if model is None:
            model = self.anger = bundled_anger_model()
        reading = model.read(text, *anger_inputs(plain), before, tokens=words)
        score = model.blend(score, reading.probability)
        return TurnScore(compound, vs["neg"], vs["neu"], vs["pos"], score, cues, reading)

    def _vader_scores(self, text: str) -> dict[str, float]:
        """VADER's `polarity_scores`, without the text preparation that cannot change ASR text.

        VADER's emoji keys are all non-ASCII, so for ASCII text (every recognizer's output)
        its per-character emoji scan changes nothing, and for lowercase text without
        punctuation neither do its punctuation strip and caps check; together they cost
        about a third of VADER's time on short turns. The rest is VADER 3.3.2's own code,
        so the figures are identical (a test pins this down on many texts).
        """
        vader = self._vader
        if not text.isascii():
            sentitext = SentiText(_without_emoji(vader.emojis, text))
        else:
            text = text.strip()
            if _LOWER_PLAIN.fullmatch(text):
                # No punctuation and no capitals (ASR text): VADER's per-word punctuation strip
                # and caps check are no-ops, so build its SentiText without them.
                sentitext = SentiText.__new__(SentiText)
                sentitext.text = text
                sentitext.words_and_emoticons = text.split()
                sentitext.is_cap_diff = False
            else:
                sentitext = SentiText(text)
        sentiments: list[float] = []
        words = sentitext.words_and_emoticons
        last = len(words) - 1
        long = last > _BEFORE + _AFTER + 1
        for i, item in enumerate(words):
            lowered = item.lower()
            if lowered in BOOSTER_DICT or (i < last and lowered == "kind" and words[i + 1].lower() == "of"):
                sentiments.append(0)
                continue
            if long:
                near, at = _near(sentitext, i)
                sentiments = vader.sentiment_valence(0, near, item, at, sentiments)
            else:
                sentiments = vader.sentiment_valence(0, sentitext, item, i, sentiments)
        sentiments = vader._but_check(words, sentiments)
        scores: dict[str, float] = vader.score_valence(sentiments, sentitext.text)
        return scores

    def _cues(self, words: list[str], had_apostrophe: frozenset[int] = frozenset()) -> tuple[Cue, ...]:
        # Most turns hold one or two lexicon words or none: a set intersection (in C) finds
        # them, so the loop below does real work only at those words.
        hits = self._first_words.intersection(words)
        if not hits:
            return ()
        found: list[Cue] = []
        index, slips = self._index, self._slips
        negators, window = self._settings.negators, self._settings.negation_window
        n, next_free, slip_until, stand = len(words), 0, 0, self._negated_stand
        for i, word in enumerate(words):
            if word not in hits or i < next_free:
                continue
            if i >= slip_until and word in slips and i not in had_apostrophe:
                for slip, cue in slips[word]:
                    # Some slips are the real word when negated: "i dont like this" keeps VADER's
                    # negated reading (the filler correction would count the dislike twice).
                    if slip in stand and _negated(words, i, negators, window):
                        continue
                    if len(slip) == 1 or tuple(words[i : i + len(slip)]) == slip:
                        found.append(cue)
                        slip_until = i + len(slip)
                        break
            # A slip does not hide a cue starting at the same word ("ill find you" after "ill").
            for entry in index.get(word, ()):
                size = len(entry.words)
                if size == 1 or (i + size <= n and tuple(words[i : i + size]) == entry.words):
                    if not _negated(words, i, negators, window):
                        found.append(Cue(entry.category, entry.phrase, entry.valence))
                    next_free = i + size
                    break
        return tuple(found)


def _negated(words: list[str], i: int, negators: frozenset[str], window: int) -> bool:
    """Whether one of `negators` comes within `window` words before `words[i]` ("not angry")."""
    return i > 0 and not negators.isdisjoint(words[max(0, i - window) : i])


def _near(sentitext: SentiText, i: int) -> tuple[SentiText, int]:
    """The words around word `i` as a SentiText of their own, and `i`'s place in it.

    VADER's checks of one sentiment word lowercase the whole text's word list (twice), which
    makes a long text quadratic; they read only words i-3 to i+2, and their guards (`i > 2`,
    "is there a word after") hold in the window exactly when they hold in the text, so the
    figures are the same."""
    low = max(0, i - _BEFORE)
    near = SentiText.__new__(SentiText)
    near.text = ""
    near.words_and_emoticons = sentitext.words_and_emoticons[low : i + _AFTER + 1]
    near.is_cap_diff = sentitext.is_cap_diff
    return near, i - low


def _without_emoji(emojis: dict[str, str], text: str) -> str:
    """VADER's first step for non-ASCII text: each emoji replaced by its description."""
    if not any(char in emojis for char in text):
        return text.strip()
    out: list[str] = []
    prev_space = True
    for char in text:
        description = emojis.get(char)
        if description is not None:
            if not prev_space:
                out.append(" ")
            out.append(description)
            prev_space = False
        else:
            out.append(char)
            prev_space = char == " "
    return "".join(out).strip()


def _apostrophe_words(text: str, count: int) -> frozenset[int]:
    """Indexes of the words that had an apostrophe ("i'll"): VADER saw those whole, so a slip
    written for the apostrophe-less form ("ill") does not apply to them."""
    if "'" not in text and "\u2019" not in text:
        return frozenset()
    raw = text.lower().replace("\u2019", "'").replace("_", " ")
    words = [w for w in _SPLIT.split(raw) if w.strip("'")]
    if len(words) != count:
        return frozenset()  # odd quoting: better to apply slips everywhere than at wrong words
    return frozenset(i for i, w in enumerate(words) if "'" in w.strip("'"))
