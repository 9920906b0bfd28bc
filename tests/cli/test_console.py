"""The terminal view: coach lines, partials cut to the terminal's width in display columns,
no partial rows left behind, and the call id shown only when there is more than one call."""

from __future__ import annotations

import io
import os
import shutil
import unicodedata

import pytest

from monitor.cli.console import ConsoleView
from monitor.events import CallStarted, Coach, Heat, Partial, Turn

DONE = {"H": True, "E": True, "A": False, "T": False}
KOREAN = "안녕하세요 고객님"
LONG = "I can see the order was placed on Monday and it should have arrived by Thursday at the latest"


class TtyOut(io.StringIO):
    """Output that says it is a terminal, so partials are written."""

    def isatty(self) -> bool:
        return True


def columns(text: str) -> int:
    """Display columns, counted independently of the module under test."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    marks = sum(bool(unicodedata.combining(ch)) for ch in text)
    return len(text) + wide - marks


class Screen:
    """Just enough of a terminal to see what the viewer is left with: rows `width` columns
    wide, wide characters taking two, and the strict kind of auto-margin that wraps as soon
    as the last column is written."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.row = self.col = 0

    def feed(self, data: str) -> None:
        i = 0
        while i < len(data):
            if data.startswith("\033[K", i):
                del self.rows[self.row][self.col :]
                i += 3
                continue
            ch, i = data[i], i + 1
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._next_row()
            else:
                self._put(ch)

    def _put(self, ch: str) -> None:
        w = columns(ch)
        if w == 0:
            self.rows[self.row][self.col - 1] += ch
            return
        if self.col + w > self.width:
            self._next_row()
        cells = self.rows[self.row]
        cells.extend([""] * (self.col + w - len(cells)))
        cells[self.col : self.col + w] = [ch] + [""] * (w - 1)
        self.col += w
        if self.col == self.width:
            self._next_row()

    def _next_row(self) -> None:
        self.row, self.col = self.row + 1, 0
        if self.row == len(self.rows):
            self.rows.append([])

    def text(self) -> list[str]:
        """The rows with anything on them, in order."""
        return [line for line in ("".join(cells) for cells in self.rows) if line]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Screen:
    """A screen 40 columns wide, and shutil reporting that width."""
    screen = Screen(40)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((40, 24)))
    return screen


def started(call: str, source: str) -> CallStarted:
    return CallStarted(call=call, t=0.0, agent="kim", started_at="2024-05-01T09:00:00Z", source=source)


def width_is(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((width, 24)))


def partial_line(view_out: TtyOut, event: Partial) -> str:
    """What one partial writes, without the return-and-clear that precedes it."""
    start = len(view_out.getvalue())
    ConsoleView(view_out)(event)
    written = view_out.getvalue()[start:]
    assert written.startswith("\r\033[K")
    return written.removeprefix("\r\033[K")


def test_coach_prompt_reads_as_step_prompt_and_phrases() -> None:
    """A prompt shows its step, what to do and the phrases to say."""
    event = Coach(call="c1", t=12.0, step="A", prompt="Ask what happened.", phrases=("When?", "Where?"))
    assert ConsoleView.format(event) == "[c1 00:12.0] COACH A: Ask what happened.  say: When? | Where?"


def test_progress_only_coach_event_lists_the_steps_done_not_an_empty_prompt() -> None:
    """A prompt-less coach event is not shown as a prompt: it lists the steps done and the next one."""
    event = Coach(call="c1", t=12.0, step="A", prompt="", done=DONE)
    assert ConsoleView.format(event) == "[c1 00:12.0] STEPS done: H, E; next A"
    finished = Coach(call="c1", t=30.0, step="T", prompt="", done=dict.fromkeys("HEAT", True))
    assert ConsoleView.format(finished) == "[c1 00:30.0] STEPS done: H, E, A, T"


def test_short_partial_is_shown_whole(terminal: Screen) -> None:
    """A partial that fits is written as it is, with the partial marker."""
    line = partial_line(TtyOut(), Partial(call="c1", t=31.4, speaker="agent", text="thank you"))
    assert line == "[00:31.4] AGENT  … thank you"


def test_long_partial_is_cut_to_the_terminal_width_keeping_the_newest_words(terminal: Screen) -> None:
    """A partial wider than the terminal keeps its time, speaker and last whole words, '…' at the cut."""
    line = partial_line(TtyOut(), Partial(call="c1", t=31.4, speaker="agent", text=LONG))
    assert line == "[00:31.4] AGENT  …at the latest"
    assert columns(line) < 40


def test_korean_partial_is_cut_by_display_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Korean syllables take two columns each: the cut counts columns, not characters."""
    event = Partial(call="c1", t=1.0, speaker="agent", text=KOREAN)
    width_is(monkeypatch, 20)
    narrow = partial_line(TtyOut(), event)
    assert columns(narrow) <= 20 and narrow.endswith("…")
    width_is(monkeypatch, 30)
    # 17 columns of lead and 1 of '…' leave 11: "세요 고객님" is 11, but "세요" is half a word.
    assert partial_line(TtyOut(), event) == "[00:01.0] AGENT  …고객님"
    width_is(monkeypatch, 40)
    assert partial_line(TtyOut(), event) == f"[00:01.0] AGENT  … {KOREAN}"  # 37 columns, 27 characters


def test_combining_marks_take_no_column_and_are_not_left_without_their_letter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decomposed accents count as no width, and a cut never starts on an accent."""
    width_is(monkeypatch, 20)
    text = "cafe\u0301" * 8  # one word, 32 columns, 40 characters
    line = partial_line(TtyOut(), Partial(call="c1", t=1.0, speaker="agent", text=text))
    assert line == "[00:01.0] AGENT  …e\u0301"


def test_terminal_size_is_read_for_every_partial(monkeypatch: pytest.MonkeyPatch) -> None:
    """Making the terminal narrower mid-call makes the next partial narrower."""
    out, event = TtyOut(), Partial(call="c1", t=1.0, speaker="caller", text=LONG)
    view = ConsoleView(out)
    width_is(monkeypatch, 100)
    view(event)
    wide = out.getvalue().rsplit("\r\033[K", 1)[1]
    width_is(monkeypatch, 50)
    view(event)
    narrow = out.getvalue().rsplit("\r\033[K", 1)[1]
    assert 50 < columns(wide) < 100 and 40 < columns(narrow) < 50


def test_width_falls_back_to_80_columns_when_the_size_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no size to be had (no COLUMNS, no terminal on stdout) partials are cut to 80 columns."""
    monkeypatch.delenv("COLUMNS", raising=False)

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    line = partial_line(TtyOut(), Partial(call="c1", t=1.0, speaker="caller", text=LONG * 2))
    assert 70 < columns(line) < 80


def test_partials_are_not_written_to_a_file() -> None:
    """Output that is not a terminal gets the finished turns only."""
    out = io.StringIO()
    view = ConsoleView(out)
    view(Partial(call="c1", t=1.0, speaker="caller", text="hello"))
    view(Turn(call="c1", t=2.0, speaker="caller", text="hello there", start=0.5, end=1.8))
    assert out.getvalue() == "[00:02.0] CALLER hello there\n"


def test_no_partial_rows_are_left_above_a_final_line(terminal: Screen) -> None:
    """After growing partials, the screen holds the final turn (wrapped) and nothing of the partials."""
    out = TtyOut()
    view = ConsoleView(out)
    view(started("c1", "x.wav"))
    terminal.feed(out.getvalue())
    out.seek(0), out.truncate()
    partial_row = terminal.row
    words = LONG.split()
    for n in range(1, len(words) + 1):
        view(Partial(call="c1", t=n / 2, speaker="agent", text=" ".join(words[:n])))
        terminal.feed(out.getvalue())
        out.seek(0), out.truncate()
        assert terminal.row == partial_row, "a partial wrapped"
    view(Turn(call="c1", t=9.0, speaker="agent", text=LONG, start=0.5, end=8.8))
    view(Heat(call="c1", t=9.0, value=12.0, level="calm", trend=0.0))
    terminal.feed(out.getvalue())
    lines = (
        "[00:00.0] call started, agent: kim, from x.wav",
        f"[00:09.0] AGENT  {LONG}",
        "[00:09.0] HEAT  12.0 CALM",
    )
    # Each line starts a row and wraps onto whole rows; anything left of a partial would add a row.
    assert terminal.text() == [line[i : i + 40] for line in lines for i in range(0, len(line), 40)]


def test_korean_partials_never_wrap_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a 20-column terminal, Korean partials stay on one row and are gone once the turn is out."""
    width_is(monkeypatch, 20)
    screen, out = Screen(20), TtyOut()
    view = ConsoleView(out)
    for n in range(1, len(KOREAN) + 1):
        view(Partial(call="c1", t=1.0, speaker="caller", text=KOREAN[:n] * 3))
        screen.feed(out.getvalue())
        out.seek(0), out.truncate()
        assert screen.row == 0 and columns(screen.text()[0]) <= 20
    view(Turn(call="c1", t=2.0, speaker="caller", text=KOREAN, start=0.5, end=1.8))
    screen.feed(out.getvalue())
    assert "".join(screen.text()) == f"[00:02.0] CALLER {KOREAN}"


def test_one_call_lines_have_no_call_id() -> None:
    """While only one call has been seen, lines start with the call time alone."""
    out = io.StringIO()
    view = ConsoleView(out)
    view(started("X_caller", "x.wav"))
    view(Turn(call="X_caller", t=31.4, speaker="agent", text="hello", start=30.0, end=31.0))
    assert out.getvalue().splitlines() == [
        "[00:00.0] call started, agent: kim, from x.wav",
        "[00:31.4] AGENT  hello",
    ]


def test_a_second_call_brings_the_call_id_into_every_line() -> None:
    """Once a second call shows up, every line after says which call it is about, the first call's too."""
    out = io.StringIO()
    view = ConsoleView(out)
    view(started("a", "a.wav"))
    view(started("b", "b.wav"))
    view(Turn(call="a", t=3.0, speaker="caller", text="hi", start=1.0, end=2.0))
    assert out.getvalue().splitlines() == [
        "[00:00.0] call started, agent: kim, from a.wav",
        "[b 00:00.0] call started, agent: kim, from b.wav",
        "[a 00:03.0] CALLER hi",
    ]


def test_show_call_fixes_the_prefix_from_the_first_line() -> None:
    """A caller that knows there are several calls gets the call id from the very first line."""
    out = io.StringIO()
    ConsoleView(out, show_call=True)(started("a", "a.wav"))
    assert out.getvalue() == "[a 00:00.0] call started, agent: kim, from a.wav\n"


def test_console_clock_floors_to_tenths() -> None:
    """The console's mm:ss.s never shows 60 seconds, and agrees with the other clocks' flooring."""
    from monitor.cli.console import _clock

    assert [_clock(t) for t in (0.0, 59.99, 60.0, 61.25, 3.3, 754.56)] == [
        "00:00.0",
        "00:59.9",
        "01:00.0",
        "01:01.2",
        "00:03.3",
        "12:34.5",
    ]
