"""The learned anger layer: model file, feature extraction, explanations, context, training parity."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from monitor.analysis.anger import BUNDLED_ANGER_MODEL, CACHE_WORDS, AngerModel, bundled_anger_model
from monitor.analysis.anger_features import (
    CHAR_SEED,
    MAX_WORD,
    WORD_SEED,
    bucket,
    char_ngrams,
    feature_rows,
    words_of,
)
from monitor.analysis.sentiment import TurnScorer
from monitor.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "models" / "anger" / "manifest.json"


@pytest.fixture(scope="module")
def model() -> AngerModel:
    return bundled_anger_model()


@pytest.fixture(scope="module")
def scorer() -> TurnScorer:
    return TurnScorer()


def read(model: AngerModel, text: str, previous: float | None = None) -> float:
    return model.read(text, 0.0, 0.0, 0.0, 0.0, previous).probability


def test_bundled_model_is_small_and_loads_without_pickles() -> None:
    """The shipped model is a few hundred KB of plain numpy arrays (np.load, allow_pickle=False)."""
    assert BUNDLED_ANGER_MODEL.stat().st_size < 3_000_000
    with np.load(BUNDLED_ANGER_MODEL, allow_pickle=False) as data:
        assert set(data.files) == {"weights", "dense", "bias", "config"}
        assert data["weights"].dtype == np.float16
    model = AngerModel.from_file(BUNDLED_ANGER_MODEL)
    assert model.mask == (1 << model.config.hash_bits) - 1


def test_manifest_names_the_shipped_file_and_its_training_data() -> None:
    """The manifest's sha256 is the shipped file's, and it says what was (never) trained on."""
    import hashlib

    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["sha256"] == hashlib.sha256(BUNDLED_ANGER_MODEL.read_bytes()).hexdigest()
    assert "caller_lines_heldout.tsv" in manifest["never_trained_on"]
    assert {"EmoContext", "MELD", "DailyDialog", "GoEmotions dev"} <= set(manifest["never_trained_on"])


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip at all", b"PK\x03\x04broken"],
)
def test_a_broken_model_file_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    """A model file that is not a readable .npz is refused with InputError naming it."""
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.npz"):
        AngerModel.from_file(path)


def test_a_model_file_needing_pickles_or_of_another_format_is_refused(tmp_path: Path) -> None:
    """Object arrays (pickles) are never loaded, and a file of another format is named as such."""
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, weights=np.array([object()], dtype=object), config=np.array("{}"))
    with pytest.raises(InputError, match=r"pickled\.npz"):
        AngerModel.from_file(pickled)
    other = tmp_path / "other.npz"
    config = json.dumps({"format": 99})
    np.savez(
        other, weights=np.zeros(4, np.float16), dense=np.zeros(5), bias=np.zeros(()), config=np.array(config)
    )
    with pytest.raises(InputError, match="format 99"):
        AngerModel.from_file(other)


def test_buckets_are_crc32_so_they_never_change_between_processes() -> None:
    """A bucket is CRC-32 of the n-gram's UTF-8 bytes from a fixed seed (not Python's salted hash())."""
    assert bucket("you people", WORD_SEED, 0xFFFFFFFF) == zlib.crc32(b"you people", WORD_SEED)
    assert WORD_SEED != CHAR_SEED
    assert bucket(" jo", CHAR_SEED, (1 << 18) - 1) == zlib.crc32(b" jo", CHAR_SEED) & ((1 << 18) - 1)


def test_words_are_asr_like_with_digits_dropped() -> None:
    """The layer reads lowercase words without punctuation; digits (never spoken as such) are dropped."""
    assert words_of("I've waited 3 WEEKS!!! 4g") == ["ive", "waited", "weeks", "g"]
    assert words_of("") == []
    assert words_of("  ...  ") == []


def test_character_ngrams_are_padded_and_bounded() -> None:
    """A word gives its 2-5 character n-grams, padded with a space each side; a huge word costs no more."""
    assert char_ngrams("hi") == [" h", "hi", "i ", " hi", "hi ", " hi "]
    huge = char_ngrams("x" * 200_000)
    assert len(huge) == len(char_ngrams("x" * MAX_WORD)) == 4 * (MAX_WORD + 2) - 10


def test_empty_text_reads_the_prior_without_explanation(model: AngerModel) -> None:
    """An empty turn gets the model's prior probability and no n-grams."""
    reading = model.read("", 0.0, 0.0, 0.0, 0.0, explain=True)
    assert 0.0 < reading.probability < 0.5
    assert reading.ngrams == ()


def test_200_kb_of_text_reads_with_a_bounded_cache(model: AngerModel) -> None:
    """200 KB of distinct words, or one 200 KB word, is read in one pass; the word cache stays bounded."""
    many = " ".join(f"w{i:06d}x{chr(97 + i % 26)}" for i in range(21_000))
    assert len(many) > 200_000
    fresh = AngerModel.from_file(BUNDLED_ANGER_MODEL)
    reading = fresh.read(many, 0.0, 0.0, 0.0, 0.0, explain=True)
    assert 0.0 <= reading.probability <= 1.0
    words = " ".join(
        f"word{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676 % 26)}" for i in range(60_000)
    )
    fresh.read(words, 0.0, 0.0, 0.0, 0.0)
    assert len(fresh._words) <= CACHE_WORDS
    assert 0.0 <= read(model, "y" * 200_000) <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "\u0000\u0001 nul and control",
        "emoji 😡😡 you 🤬 people",
        "zero\u200bwidth\u200djoiner",
        "combining e\u0301\u0301\u0301 marks",
        "عربى العربية right to left",
        "全角テキスト 怒り",
        "lone surrogate \ud800 here",
        "Ｆｕｌｌｗｉｄｔｈ ＡＮＧＥＲ",
    ],
)
def test_odd_unicode_is_read_not_crashed_on(model: AngerModel, scorer: TurnScorer, text: str) -> None:
    """Control characters, emoji, joiners, combining marks, other scripts and lone surrogates read safely."""
    reading = model.read(text, 0.0, 0.0, 0.0, 0.0, explain=True)
    assert 0.0 <= reading.probability <= 1.0
    assert -1.0 <= scorer.score(text).score <= 1.0


def test_explanations_are_words_of_the_turn_that_pushed_it_hot(model: AngerModel, scorer: TurnScorer) -> None:
    """The n-grams given as the reason are the turn's own words, strongest first, each positive."""
    text = "you lot are absolutely useless and this is a disgrace"
    reading = scorer.score(text).anger
    assert reading is not None and reading.probability > 0.7
    assert reading.ngrams, "an angry turn names what made it angry"
    words = set(text.split())
    shares = [share for _, share in reading.ngrams]
    assert shares == sorted(shares, reverse=True) and all(s > 0 for s in shares)
    for gram, _ in reading.ngrams:
        assert set(gram.split()) <= words
    assert reading.label().startswith("sounds angry: ")
    calm = model.read("thank you so much that is lovely", 0.6, 0.0, 0.5, 0.6)
    assert calm.probability < 0.2 and calm.ngrams == ()


def test_the_explanation_quotes_the_caller_not_a_list_of_overlapping_pieces(scorer: TurnScorer) -> None:
    """N-grams that overlap or touch in the turn are shown as the stretch the caller said, in the
    turn's order: each phrase is a run of the turn's own words, and no word is shown twice."""
    texts = (
        "but nobody told me the promotion was ending i never got a letter",
        "you people are a joke",
        "i waited all day nobody came nobody called and then they told me he was on his way",
    )
    for text in texts:
        reading = scorer.score(text).anger
        assert reading is not None and reading.ngrams, text
        assert reading.phrases and reading.label() == "sounds angry: " + ", ".join(reading.phrases)
        for phrase in reading.phrases:
            assert f" {phrase} " in f" {text} ", (phrase, text)
        for gram, _ in reading.ngrams:
            assert any(f" {gram} " in f" {phrase} " for phrase in reading.phrases), (gram, reading)
        shown = " ".join(reading.phrases).split()
        assert len(shown) <= sum(len(g.split()) for g, _ in reading.ngrams)
        positions = [f" {text} ".index(f" {p} ") for p in reading.phrases]
        assert positions == sorted(positions), reading.phrases


def test_previous_anger_carries_over_and_calm_never_does(model: AngerModel) -> None:
    """A curt reply after a furious turn reads angrier than alone; a calm previous turn never lowers it."""
    furious = model.read("i am absolutely furious with you useless lot", -0.6, 0.5, 0.0, -0.8).own_logit
    calm = model.read("thank you that is lovely", 0.7, 0.0, 0.6, 0.7).own_logit
    alone = read(model, "whatever")
    assert read(model, "whatever", furious) > alone + 0.1
    assert read(model, "whatever", calm) == pytest.approx(alone)


def test_the_loader_reproduces_the_training_features(model: AngerModel) -> None:
    """The training matrix (feature_rows) dotted with the shipped weights gives the run-time logit."""
    texts = ["you lot are useless", "thank you so much", "its still not working 3 times", "", "ok"]
    dense = [
        (0.1, 0.2, 0.3, -0.4, -0.4),
        (0.5, 0.0, 0.6, 0.5, 0.0),
        (0.0, 0.0, 0.0, -0.6, -0.6),
        (0,) * 5,
        (0,) * 5,
    ]
    rows, cols, vals, dense_rows = feature_rows(texts, dense, model.config.hash_bits)
    weights = np.frombuffer(model._w.tobytes(), dtype=np.float32)
    z = np.full(len(texts), model.bias)
    np.add.at(z, np.array(rows, dtype=int), weights[np.array(cols, dtype=int)] * np.array(vals))
    z += np.array(dense_rows) @ np.array(model._dense)
    for text, d, expected in zip(texts, dense, z, strict=True):
        got = model.read(text, d[0], d[1], d[2], d[3]).own_logit
        assert got == pytest.approx(float(expected), abs=1e-4)


@pytest.mark.slow
def test_training_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    """scripts/train_anger.py is reproducible: two runs on the caller lines give byte-identical models."""
    import subprocess
    import sys

    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.npz"
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "train_anger.py"), "--no-goemotions", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert "held-out caller lines" in done.stdout
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    model = AngerModel.from_file(tmp_path / "a.npz")
    assert model.read("you lot are useless and i am furious", -0.7, 0.6, 0.0, -0.8).probability > 0.5
