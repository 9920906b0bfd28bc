"""`heatmon calls`, `export`, `report` and `purge` on a real store, and the report in real Chromium."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from support.browser import ARTIFACTS, chromium, contrast
from support.store_events import call_events

from monitor.analysis.sentiment import TurnScorer
from monitor.cli import main
from monitor.review.chart import sentiment_colour
from monitor.review.report import EXPORT_FORMAT, render_report
from monitor.review.summary import clock
from monitor.store import Store, StoreSink, db_path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory whose store holds three demo calls, one with a coaching supervisor."""
    events = call_events("heat-deescalation", "2026-11-20T09:00:00Z")
    events.append(
        {
            "type": "supervisor_message",
            "call": "heat-deescalation",
            "from": "lead",
            "text": "good recovery, keep going",
            "at": "2026-11-20T09:03:00Z",
        }
    )

    async def fill() -> None:
        sink = StoreSink(db_path(tmp_path))
        await sink.write(events)
        await sink.write(call_events("card-payment", "2026-11-21T09:00:00Z"))
        await sink.write(call_events("escalation", "2026-11-22T09:00:00Z"))
        await sink.aclose()

    asyncio.run(fill())
    return tmp_path


def cli(*argv: str) -> int:
    """heatmon's main() in this process, for its exit code."""
    return main(list(argv))


def test_export_writes_the_call_its_events_and_its_review(data: Path, tmp_path: Path) -> None:
    """The export JSON has the documented sections, wire events in them, and the review numbers."""
    out = tmp_path / "call.json"
    assert cli("export", "heat-deescalation", "--data", str(data), "-o", str(out)) == 0
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == EXPORT_FORMAT and doc["version"] == 1 and doc["ref"].startswith("#")
    assert set(doc) >= {"call", "review", "turns", "heat", "alerts", "acks", "coach", "messages"}
    assert doc["call"]["agent"] == "priya" and doc["call"]["caller_name"] == "Marcus Bell"
    assert {e["type"] for e in doc["turns"]} == {"turn"} and len(doc["turns"]) == 37
    review = doc["review"]
    assert review["peak_heat"] == max(h["value"] for h in doc["heat"])
    assert review["hot_at"] is not None and review["calm_again_at"] > review["hot_at"]
    assert review["hot_to_calm"] == pytest.approx(review["calm_again_at"] - review["hot_at"])
    assert [s["step"] for s in review["steps"] if s["done"]] == ["H", "E", "A", "T"]
    assert review["alerts"][0]["acked_by"] == ["lead"]
    assert doc["messages"][0]["text"] == "good recovery, keep going"


def test_export_to_stdout_and_with_redaction(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Export goes to standard output by default, and --redact masks a card number read out."""
    assert cli("export", "card-payment", "--data", str(data)) == 0
    plain = capsys.readouterr().out
    assert "four five three two" in plain and "eight one seven seven" in plain
    assert cli("export", "card-payment", "--data", str(data), "--redact") == 0
    redacted = capsys.readouterr().out
    assert "four five three two" not in redacted and "eight one seven seven" not in redacted
    assert redacted.count("[4 digits redacted]") == 4
    assert json.loads(redacted)["call"]["id"] == "card-payment"


def test_unknown_call_and_missing_store_are_one_line_errors(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A call id that is not stored, or no store at all, exits 2 with a message naming the problem."""
    assert cli("export", "no-such-call", "--data", str(data)) == 2
    err = capsys.readouterr().err
    assert "no call 'no-such-call'" in err and "heatmon calls" in err and "Traceback" not in err
    assert cli("report", "x", "--data", str(tmp_path / "empty")) == 2
    assert "no call store at" in capsys.readouterr().err
    assert cli("calls", "--data", str(data), "--since", "last tuesday") == 2
    assert "not a date" in capsys.readouterr().err


def test_calls_lists_and_filters(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`heatmon calls` lists newest first and applies its filters; --json gives one object a line."""
    assert cli("calls", "--data", str(data)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[1:]] == ["escalation", "card-payment", "heat-deescalation"]
    assert cli("calls", "--data", str(data), "--min-heat", "55", "--agent", "kevin", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["escalation"] and rows[0]["alert_kinds"] == ["heat"]
    assert cli("calls", "--data", str(data), "--search", "technician", "--since", "2026-11-19") == 0
    assert capsys.readouterr().out.count("heat-deescalation") == 1


def test_purge_keeps_recent_calls(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`heatmon purge` removes calls older than the retention and says how many."""
    assert cli("purge", "--retain-days", "100000", "--data", str(data)) == 0
    assert "purged 0 calls" in capsys.readouterr().out
    assert cli("purge", "--retain-days", "0", "--data", str(data)) == 0
    assert "purged 3 calls" in capsys.readouterr().out
    store = Store.open(db_path(data), create=False)
    assert store.list_calls() == []
    store.close()


def test_report_is_standalone_html(data: Path, tmp_path: Path) -> None:
    """The report loads nothing from elsewhere: no scripts, no http(s) in src or href, inline SVG."""
    out = tmp_path / "review.html"
    assert cli("report", "escalation", "--data", str(data), "-o", str(out)) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<svg" in html and "<style>" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert "company policy" in html and "alert-mark" in html


def test_report_escapes_what_was_said() -> None:
    """Transcript text is data: markup in it is shown, never run."""
    events = call_events("calm-move", "2026-11-20T09:00:00Z")
    store = Store.open(Path(":memory:"))
    events[2]["text"] = "<script>alert(1)</script> & <b>bold</b>"
    store.write_events(events)
    html = render_report(store.call_detail("calm-move"))
    store.close()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in html


def test_report_gives_the_start_in_utc_as_people_read_it() -> None:
    """The start reads "2026-11-20 17:30 UTC" whatever offset the stored time has."""
    store = Store.open(Path(":memory:"))
    store.write_events(call_events("calm-move", "2026-11-20T18:30:05+01:00"))
    html = render_report(store.call_detail("calm-move"))
    store.close()
    assert "Started 2026-11-20 17:30 UTC ·" in html


def test_report_lists_coach_prompts_not_the_prompt_less_coach_events() -> None:
    """A coach event that only ticked steps is no prompt row in the report; the step it ticked is done."""
    store = Store.open(Path(":memory:"))
    store.write_events(call_events("abusive-caller", "2026-11-20T09:00:00Z"))
    detail = store.call_detail("abusive-caller")
    html = render_report(detail)
    store.close()
    prompts = [c for c in detail["coach"] if c["prompt"]]
    assert 0 < len(prompts) < len(detail["coach"])
    assert html.count('class="coach-row"') == len(prompts)
    assert "<td></td></tr>" not in html
    assert re.search(r"<li><b>H</b> done at \d+:\d\d</li>", html)  # ticked by a prompt-less event


@pytest.mark.slow  # real Chromium
def test_report_renders_in_chromium(data: Path, tmp_path: Path) -> None:
    """In real Chromium the report shows the chart with markers, the summary and a coloured transcript."""
    out = tmp_path / "report.html"
    assert cli("report", "heat-deescalation", "--data", str(data), "-o", str(out)) == 0
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(out.as_uri())
        chart = page.locator("svg.heat-chart")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 150
        assert page.locator("svg.heat-chart polyline").count() >= 10
        assert page.locator("svg.heat-chart .alert-mark").count() == 1
        assert page.locator("svg.heat-chart .step-mark text").all_text_contents() == ["H", "E", "A", "T"]
        assert "hot to calm" in page.locator("#summary").inner_text()
        caller_cell = page.locator("tr.turn.caller", has_text="that was a lie").locator("td").nth(2)
        colour = caller_cell.evaluate("el => getComputedStyle(el).borderLeftColor")
        assert colour.startswith("rgba(198, 40, 40"), colour  # an angry caller turn is red
        assert page.locator("tr.alert-row").count() == 1
        assert page.locator("tr.msg-row td.time").inner_text() == "3:00"  # on the call's clock
        page.screenshot(path=str(ARTIFACTS / "report_heat_deescalation.png"), full_page=True)
    assert requests == [out.as_uri()]


@pytest.mark.slow  # real Chromium
def test_report_level_badges_pass_wcag_aa_contrast(data: Path, tmp_path: Path) -> None:
    """Every level and alert-severity badge of the report reads at 4.5:1 or more (WCAG AA for
    text), measured on Chromium's computed colours of the report's own stylesheet."""
    out = tmp_path / "report.html"
    assert cli("report", "escalation", "--data", str(data), "-o", str(out)) == 0
    levels = ["calm", "warm", "hot", "boiling", "info", "warning", "critical"]
    with chromium() as browser:
        page = browser.new_page()
        page.goto(out.as_uri())
        assert page.locator(".level").count() > 0  # the report has badges of its own
        colours = page.evaluate(
            """levels => levels.map(level => {
                const badge = document.createElement("span");
                badge.className = `level ${level}`;
                badge.textContent = level;
                document.body.append(badge);
                const style = getComputedStyle(badge);
                return [level, style.color, style.backgroundColor];
            })""",
            levels,
        )
        shown = page.locator(".level").evaluate_all(
            "els => els.map(el => [el.className, getComputedStyle(el).color,"
            " getComputedStyle(el).backgroundColor])"
        )
    for name, fg, bg in [*colours, *shown]:
        assert contrast(fg, bg) >= 4.5, (name, fg, bg, contrast(fg, bg))


def test_heat_chart_line_starts_calm_at_zero_before_the_first_change() -> None:
    """The first heat change may come a minute in; the line runs from the call's start (calm, 0)."""
    from monitor.review.chart import LEFT, heat_chart

    detail = {
        "heat": [{"t": 58.0, "value": 30.0, "level": "warm"}, {"t": 90.0, "value": 20.0, "level": "calm"}]
    }
    svg = heat_chart(detail, {"duration": 120.0})
    first = re.search(r'<polyline[^>]*points="([^"]+)"', svg)
    assert first is not None
    start_x, start_y = first[1].split()[0].split(",")
    assert float(start_x) == LEFT
    zero_y = re.search(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end" class="axis">0</text>', svg)
    assert zero_y is not None and float(start_y) == float(zero_y[1]) - 4


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (214.99, "3:34"),
        (59.999, "0:59"),
        (0, "0:00"),
        (60.0, "1:00"),
        (3600.7, "1:00:00"),
        (-0.4, "0:00"),
        (None, "—"),
    ],
)
def test_clock_shows_whole_seconds_elapsed(seconds: float | None, shown: str) -> None:
    """Call times are floored like a stopwatch, as the dashboard's formatDuration does: 214.99 s is 3:34."""
    assert clock(seconds) == shown


def test_report_colours_caller_turns_by_heatmons_score() -> None:
    """A caller turn VADER calls positive but heatmon scores neutral is neutral in the report's
    transcript and chart, with the number the call page shows; a turn without `score` falls back."""
    text = "yeah you can help by fixing my damn tv service for once"
    scored = TurnScorer().score(text)
    assert scored.compound >= 0.05 and scored.score == 0.0  # raw VADER would colour it green
    turn = {"type": "turn", "call": "c1", "speaker": "caller", "start": 40.0, "end": 43.0, "t": 43.0}
    old = {**turn, "text": "thank you so much", "start": 50.0, "end": 52.0, "t": 52.0}
    detail = {
        "call": {"id": "c1", "duration": 60.0},
        "turns": [
            {**turn, "text": text, "sentiment": scored.sentiment()},
            {**old, "sentiment": {"compound": 0.6}},
        ],
    }
    html = render_report(detail)
    neutral, green = sentiment_colour(0.0), sentiment_colour(0.6)
    assert f'border-left: 4px solid {neutral}" title="sentiment 0.00">{text}</td>' in html
    assert f'border-left: 4px solid {green}" title="sentiment +0.60">thank you so much</td>' in html
    assert f'fill="{neutral}"><title>0:43 caller 0.00: {text}</title>' in html
    assert f'fill="{sentiment_colour(scored.compound)}"' not in html
