"""The history and call pages in real Chromium against a real hub with a real call store.

Demo calls run through the real analysis chain (`Replay.events`), are published over a real
publisher websocket, stored by the hub's StoreSink, and read back through `/api/calls`.
Screenshots land in tests/_artifacts/ for people to look at.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FloatRect, Page, expect
from support.browser import ARTIFACTS, contrast
from support.pages import PUBLISHER, SAM, HubThread, PageErrors, tokens
from websockets.sync.client import connect

from monitor.hub.connections import Hub
from monitor.hub.server import serve_hub
from monitor.paths import BUNDLED_MODELS
from monitor.review.history import register_history
from monitor.review.summary import clock, signed_score
from monitor.store import StoreReader, StoreSink, db_path
from monitor.transcripts.reader import read_transcript
from monitor.transcripts.replay import Replay

pytestmark = pytest.mark.slow  # real Chromium

DEMO = BUNDLED_MODELS / "demo_calls"
#: (demo call, start time): three agents, one of them (kevin) with two calls.
CALLS = (
    ("heat-deescalation", "2026-11-20T09:15:00Z"),
    ("billing-dispute", "2026-11-21T10:30:00Z"),
    ("card-payment", "2026-11-22T14:05:00Z"),
    ("escalation", "2026-11-22T16:40:00Z"),
)
MARIA, KEVIN = "agent-token-maria", "agent-token-kevin"

expect.set_options(timeout=20_000)  # generous: CI machines get busy


def demo_events(name: str, started_at: str) -> list[dict[str, Any]]:
    """A demo call through the real analysis chain, as the events a publisher sends."""
    entry = next(c for c in json.loads((DEMO / "index.json").read_text())["calls"] if c["call"] == name)
    turns = read_transcript(DEMO / entry["file"]).turns
    events = [e.to_dict() for e in Replay(turns, name, agent=entry["agent"], started_at=started_at).events()]
    events[0]["caller_name"] = entry["caller_name"]
    return events


class StoreHub(HubThread):
    """The real hub with a StoreSink (redacting) and the history routes, in its own thread."""

    def __init__(self, data: Path, *, store: bool = True) -> None:
        super().__init__()
        self.data = data
        self.store = store

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[Hub]:
        made = tokens()
        made, _ = made.add("agent", "maria", MARIA)
        made, _ = made.add("agent", "kevin", KEVIN)
        sink = StoreSink(db_path(self.data), redact=True) if self.store else None
        async with serve_hub(made, port=0, sink=sink) as hub:
            register_history(hub.api, StoreReader(db_path(self.data)) if self.store else None)
            yield hub
        if sink is not None:
            await sink.aclose()

    def get(self, path: str, token: str | None) -> tuple[int, Any]:
        """GET /api/<path> with a bearer token: status and JSON body."""
        request = urllib.request.Request(f"{self.http}/api/{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


def publish_calls(hub: StoreHub) -> None:
    """Publish the demo calls over a real websocket, and acknowledge one alert as supervisor Sam."""
    with connect(f"ws://127.0.0.1:{hub.port}/ws") as ws:
        ws.send(json.dumps({"type": "hello", "role": "publisher", "token": PUBLISHER, "publisher": "t"}))
        assert json.loads(ws.recv(timeout=30))["type"] == "welcome"
        pseq = 0
        for name, started_at in CALLS:
            batch = []
            for event in demo_events(name, started_at):
                pseq += 1
                batch.append({**event, "pseq": pseq})
            ws.send(json.dumps({"type": "batch", "events": batch}))
        while True:
            reply = json.loads(ws.recv(timeout=30))
            assert reply["type"] == "ack", reply
            if reply["pseq"] >= pseq:
                break
    alert = next(e for e in demo_events("escalation", "") if e["type"] == "alert")
    with connect(f"ws://127.0.0.1:{hub.port}/ws") as ws:
        ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": SAM}))
        assert json.loads(ws.recv(timeout=30))["type"] == "welcome"
        ws.send(json.dumps({"type": "ack_alert", "call": "escalation", "id": alert["id"]}))
        while json.loads(ws.recv(timeout=30)).get("type") not in ("alert_ack", "batch"):
            pass


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreHub]:
    running = StoreHub(tmp_path_factory.mktemp("data")).start()
    publish_calls(running)
    yield running
    running.stop()


@pytest.fixture
def errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, errors: PageErrors) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, timezone_id="UTC")
    opened = errors.watch(context.new_page())
    yield opened
    context.close()
    assert errors.errors == []


def test_the_api_gives_supervisors_every_call_and_agents_only_theirs(hub: StoreHub) -> None:
    """/api/calls filters for supervisors; an agent's token is held to its own calls whatever it asks."""
    status, answer = hub.get("calls", SAM)
    assert status == 200 and answer["agent"] is None
    assert [c["id"] for c in answer["calls"]] == [name for name, _ in reversed(CALLS)]
    assert hub.get("calls?agent=kevin", SAM)[1]["calls"][0]["agent"] == "kevin"
    hot = hub.get("calls?min_heat=50", SAM)[1]["calls"]
    assert hot and all(c["peak_heat"] >= 50 for c in hot) and len(hot) < len(CALLS)
    assert [c["id"] for c in hub.get("calls?since=2026-11-22&alert=escalation", SAM)[1]["calls"]] == [
        "escalation"
    ]
    status, mine = hub.get("calls?agent=kevin", MARIA)
    assert status == 200 and mine["agent"] == "maria"
    assert [c["id"] for c in mine["calls"]] == ["billing-dispute"]
    status, detail = hub.get("calls/billing-dispute", MARIA)
    assert status == 200 and detail["call"]["agent"] == "maria" and detail["review"]["peak_heat"] is not None
    assert "chart" not in detail  # data only: the call page draws its chart itself
    assert hub.get("calls/escalation", MARIA)[0] == 404  # kevin's call does not exist for maria
    assert hub.get(f"calls/{'%23'}{mine['calls'][0]['pk']}", KEVIN)[0] == 404
    assert hub.get("calls/no-such-call", SAM)[0] == 404
    assert hub.get("calls", None) == (401, {"error": "missing token"})
    assert hub.get("calls?min_heat=hot", SAM)[0] == 400


def test_a_hub_without_a_store_says_so(tmp_path: Path) -> None:
    """A hub started without a store answers history requests with a clear 503, not an empty list."""
    plain = StoreHub(tmp_path, store=False).start()
    try:
        status, answer = plain.get("calls", SAM)
        assert status == 503 and "no call history" in answer["error"]
    finally:
        plain.stop()


def history_rows(page: Page) -> list[str]:
    return page.locator("#calls-body tr").evaluate_all("rows => rows.map(r => r.dataset.call)")


def test_history_page_lists_calls_and_filters_by_agent_heat_and_text(hub: StoreHub, page: Page) -> None:
    """The history page lists every stored call and narrows by agent, minimum peak heat and words."""
    page.goto(f"{hub.http}/floor#token={SAM}")
    expect(page.locator("#nav-history")).to_have_attribute("href", f"/history#token={SAM}")
    page.click("#nav-history")
    expect(page.locator("#calls-body tr")).to_have_count(len(CALLS))
    assert history_rows(page) == [name for name, _ in reversed(CALLS)]
    expect(page.locator("#who")).to_have_text("Supervisor · all calls")
    # Lengths read as `heatmon calls` prints them: whole seconds elapsed, floored in both.
    lengths = page.locator("#calls-body tr td:nth-child(4)").all_text_contents()
    assert lengths == [clock(c["duration"]) for c in hub.get("calls", SAM)[1]["calls"]]
    page.screenshot(path=str(ARTIFACTS / "history-all.png"), full_page=True)

    page.fill("#f-agent", "kevin")
    page.press("#f-agent", "Enter")
    expect(page.locator("#calls-body tr")).to_have_count(2)
    assert set(history_rows(page)) == {"card-payment", "escalation"}
    assert "agent=kevin" in page.url  # the filter survives Back and a copied link

    # The page's own header links keep the token: History opens the whole list again, signed in.
    expect(page.locator("#nav-history")).to_have_attribute("href", f"/history#token={SAM}")
    expect(page.locator("#nav-floor")).to_have_attribute("href", f"/floor#token={SAM}")
    page.click("#nav-history")
    expect(page.locator("#calls-body tr")).to_have_count(len(CALLS))
    expect(page.locator("#banner")).to_be_hidden()
    expect(page.locator("#who")).to_have_text("Supervisor · all calls")
    assert "agent=kevin" not in page.url
    page.fill("#f-agent", "kevin")
    page.press("#f-agent", "Enter")
    expect(page.locator("#calls-body tr")).to_have_count(2)

    page.click("#f-reset")
    expect(page.locator("#calls-body tr")).to_have_count(len(CALLS))
    page.select_option("#f-heat", "50")
    hot = [c["id"] for c in hub.get("calls?min_heat=50", SAM)[1]["calls"]]
    expect(page.locator("#calls-body tr")).to_have_count(len(hot))
    assert history_rows(page) == hot
    for value in page.locator("#calls-body .peak-value").all_text_contents():
        assert int(value) >= 50
    page.screenshot(path=str(ARTIFACTS / "history-hot.png"), full_page=True)

    page.click("#f-reset")
    page.fill("#f-since", "2026-11-21")
    page.fill("#f-until", "2026-11-21")  # the whole day, 'To' included
    expect(page.locator("#calls-body tr")).to_have_count(1)
    assert history_rows(page) == ["billing-dispute"]

    page.click("#f-reset")
    page.fill("#f-q", "supervisor")
    page.press("#f-q", "Enter")
    expect(page.locator("#results-count")).to_contain_text("match")
    wanted = [c["id"] for c in hub.get("calls?q=supervisor", SAM)[1]["calls"]]
    assert history_rows(page) == wanted and 0 < len(wanted) < len(CALLS)


def test_call_page_draws_the_chart_transcript_alerts_and_summary(hub: StoreHub, page: Page) -> None:
    """A call's page shows its heat chart, coloured transcript, alerts with evidence, coach prompts
    (not the prompt-less coach events) and the summary."""
    _, detail = hub.get("calls/escalation", SAM)
    page.goto(f"{hub.http}/history#token={SAM}")
    page.click("#calls-body tr[data-call='escalation'] a")
    expect(page).to_have_url(re.compile(r"/call#"))
    expect(page.locator("#call-title")).to_have_text("kevin · Sandra Cole")
    expect(page.locator("#nav-history")).to_have_attribute("href", f"/history#token={SAM}")
    expect(page.locator("#nav-floor")).to_have_attribute("href", f"/floor#token={SAM}")
    chart = page.locator("#chart svg.heat-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("circle.heat-point")).to_have_count(len(detail["heat"]))
    points = chart.locator("polyline").first.get_attribute("points") or ""
    assert len(points.split()) >= 2
    expect(chart.locator(".alert-mark")).to_have_count(len(detail["alerts"]))
    # The chart's mood dots use heatmon's turn score, as the transcript does, not raw VADER.
    caller_turns = [t for t in detail["turns"] if t["speaker"] == "caller"]
    moods = chart.locator("circle.mood")
    expect(moods).to_have_count(len(caller_turns))
    first = caller_turns[0]
    expect(moods.first.locator("title")).to_have_text(
        f"{clock(first['end'])} caller {signed_score(first['sentiment']['score'])}: {first['text']}"
    )
    # Heat lines take the palette's level colours (CSS), not colours written into the markup.
    expect(chart.locator("polyline[stroke]")).to_have_count(0)
    calm = page.evaluate(
        """() => { const probe = document.createElement("i"); probe.style.color = "var(--calm)";
        document.body.append(probe); const colour = getComputedStyle(probe).color; probe.remove();
        return colour; }"""
    )
    stroke = chart.locator('polyline[data-level="calm"]').first.evaluate("el => getComputedStyle(el).stroke")
    assert stroke == calm, (stroke, calm)
    expect(page.locator("#transcript li.turn")).to_have_count(len(detail["turns"]))
    negative = page.locator(
        "#transcript li.turn-caller.sent-very-negative, #transcript li.turn-caller.sent-negative"
    )
    assert negative.count() > 0
    expect(page.locator("#transcript .mark-alert")).to_have_count(len(detail["alerts"]))
    # Coach events with an empty prompt only ticked steps (the summary shows those), never a prompt.
    prompts = [c for c in detail["coach"] if c["prompt"]]
    assert 0 < len(prompts) < len(detail["coach"])
    expect(page.locator("#transcript .mark-coach")).to_have_count(len(prompts))
    expect(page.locator("#coach .coach-item")).to_have_count(len(prompts))
    review = detail["review"]
    expect(page.locator("#stat-peak dd")).to_contain_text(str(round(review["peak_heat"])))
    # The same call times as the report and `heatmon calls` (monitor.review.summary.clock): floored.
    expect(page.locator("#stat-peak")).to_contain_text(
        f"at {clock(review['peak_at'])} of {clock(review['duration'])}"
    )
    expect(page.locator("#stat-alerts dd")).to_have_text(str(len(review["alerts"])))
    expect(page.locator("#alerts > li")).to_have_count(len(review["alerts"]))
    expect(page.locator("#alerts .evidence li").first).to_be_visible()
    expect(page.locator("#alerts")).to_contain_text("Acknowledged by Sam")
    done = [s for s in review["steps"] if s["done"]]
    expect(page.locator("#step-times .is-done")).to_have_count(len(done))
    page.screenshot(path=str(ARTIFACTS / "call-escalation.png"), full_page=True)
    page.set_viewport_size({"width": 420, "height": 900})  # a phone or a narrow window beside the CRM
    expect(chart).to_be_visible()
    clip: FloatRect = {"x": 0, "y": 0, "width": 420, "height": 1500}
    page.screenshot(path=str(ARTIFACTS / "call-escalation-narrow.png"), full_page=True, clip=clip)
    page.set_viewport_size({"width": 1360, "height": 900})

    with page.expect_download() as saved:
        page.click("#download")
    exported = json.loads(Path(saved.value.path()).read_text())
    assert exported["format"] == "heatmon-call" and exported["ref"] == detail["ref"]
    assert exported["turns"] == detail["turns"] and "chart" not in exported
    page.locator("#chart .alert-mark").first.click()
    expect(page.locator(f"#alert-{review['alerts'][0]['id']}")).to_be_in_viewport()
    page.click("#back")
    expect(page.locator("#calls-body tr")).to_have_count(len(CALLS))


def test_an_agent_sees_only_their_own_calls_and_masked_card_numbers(
    hub: StoreHub, page: Page, errors: PageErrors
) -> None:
    """Kevin's token lists only Kevin's calls, cannot open Maria's, and sees spoken card numbers masked."""
    page.goto(f"{hub.http}/history#token={KEVIN}&agent=maria")
    expect(page.locator("#who")).to_have_text("kevin · your calls")
    expect(page.locator("#calls-body tr")).to_have_count(2)
    assert set(history_rows(page)) == {"card-payment", "escalation"}
    expect(page.locator("#f-agent")).to_be_disabled()
    page.screenshot(path=str(ARTIFACTS / "history-agent.png"), full_page=True)

    page.click("#calls-body tr[data-call='card-payment'] a")
    expect(page.locator(".redacted").first).to_be_visible()
    text = page.locator("#transcript").inner_text()
    digit = r"(zero|oh|one|two|three|four|five|six|seven|eight|nine)"
    assert not re.search(rf"\b{digit}( {digit}){{5,}}\b", text)  # no run of six spoken digits
    expect(page.locator("#redacted-note")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "call-card-payment.png"), full_page=True)

    page.goto(f"{hub.http}/call#token={KEVIN}&id=billing-dispute")
    expect(page.locator("#banner")).to_contain_text("cannot be shown")
    expect(page.locator("#review")).to_be_hidden()

    page.goto(f"{hub.http}/history#token=not-a-token")
    expect(page.locator("#banner")).to_contain_text("could not be loaded: invalid token")
    expect(page.locator("#who")).to_have_text("Not signed in")
    # Chromium logs each refused fetch itself; those are the pages working as meant.
    errors.errors = [e for e in errors.errors if not re.search(r"status of (401|404)", e)]


def test_history_alert_filter_offers_every_alert_kind_and_filters_by_it(hub: StoreHub, page: Page) -> None:
    """The Alert filter lists "Any or none" and then every alert kind, the stored calls' kinds
    included; choosing one lists the calls with such an alert, as the API does."""
    page.goto(f"{hub.http}/history#token={SAM}")
    expect(page.locator("#calls-body tr")).to_have_count(len(CALLS))
    stored = {kind for call in hub.get("calls", SAM)[1]["calls"] for kind in call["alert_kinds"]}
    assert stored
    options = page.locator("#f-alert option")
    expect(options.first).to_have_text("Any or none")
    values = options.evaluate_all("opts => opts.map(o => o.value)")
    assert (
        values[0] == "" and stored <= set(values[1:]) and len(values) == len(set(values)) >= 1 + len(stored)
    )
    kind = sorted(stored)[0]
    page.select_option("#f-alert", kind)
    wanted = [c["id"] for c in hub.get(f"calls?alert={kind}", SAM)[1]["calls"]]
    expect(page.locator("#calls-body tr")).to_have_count(len(wanted))
    assert history_rows(page) == wanted
    assert f"alert={kind}" in page.url


def test_chart_alert_markers_answer_space_and_enter(hub: StoreHub, page: Page) -> None:
    """An alert marker of the call page's chart is a button: Space and Enter both bring its
    alert's place in the transcript into view."""
    _, detail = hub.get("calls/escalation", SAM)
    assert len(detail["alerts"]) >= 2
    page.goto(f"{hub.http}/call#token={SAM}&id=escalation")
    marks = page.locator("#chart .alert-mark")
    expect(marks).to_have_count(len(detail["alerts"]))
    expect(marks.first).to_have_attribute("role", "button")
    last = detail["alerts"][-1]["id"]
    marks.last.focus()
    page.keyboard.press("Space")
    expect(page.locator(f"#alert-{last}")).to_be_in_viewport()
    page.evaluate("window.scrollTo(0, 0); document.getElementById('transcript-scroll').scrollTop = 0")
    expect(page.locator(f"#alert-{last}")).not_to_be_in_viewport()
    marks.last.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#alert-{last}")).to_be_in_viewport()


SIZES = ((1366, 768), (390, 844))
# Each level badge's text colour and the first opaque background behind it.
BADGE_COLOURS = """() => [...document.querySelectorAll(".level-badge")].map(el => {
    const clear = (node) => getComputedStyle(node).backgroundColor === "rgba(0, 0, 0, 0)";
    let back = el;
    while (back && clear(back)) back = back.parentElement;
    const bg = back ? getComputedStyle(back).backgroundColor : "rgb(255, 255, 255)";
    return [el.textContent, getComputedStyle(el).color, bg];
})"""


def test_every_page_on_a_hot_call_fits_a_laptop_and_a_phone(
    browser: Browser, tmp_path: Path, errors: PageErrors
) -> None:
    """With a hot call live (alerts open, a supervisor's message on the agent's screen) the floor,
    the agent's view, the history and the call page fit 1366x768 and 390x844 without sideways
    scrolling, the agent's step card is on screen and every level badge reads at WCAG AA;
    screenshots go to tests/_artifacts/ (git-ignored)."""
    running = StoreHub(tmp_path).start()
    try:
        publish_calls(running)
        live = [e for e in demo_events("escalation", "2026-11-23T09:00:00Z") if e["type"] != "call_ended"]
        live = [{**e, "call": "live-hot"} for e in live]
        hot_at = next(
            i for i, e in enumerate(live) if e["type"] == "heat" and e["level"] in ("hot", "boiling")
        )
        with connect(f"ws://127.0.0.1:{running.port}/ws") as ws:
            ws.send(
                json.dumps({"type": "hello", "role": "publisher", "token": PUBLISHER, "publisher": "live"})
            )
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
            batch = [{**e, "pseq": i + 1} for i, e in enumerate(live[: hot_at + 12])]
            ws.send(json.dumps({"type": "batch", "events": batch}))
            while json.loads(ws.recv(timeout=10)).get("pseq") != len(batch):
                pass
        with connect(f"ws://127.0.0.1:{running.port}/ws") as ws:
            ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": SAM}))
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
            ws.send(
                json.dumps(
                    {"type": "message", "call": "live-hot", "text": "I am listening in; offer the callback."}
                )
            )
            while "supervisor_message" not in ws.recv(timeout=5):
                pass
        pages = {
            "floor": (f"/floor#token={SAM}", ".tile[data-call='live-hot']"),
            "agent": (f"/agent#token={KEVIN}", "#messages .message"),
            "history": (f"/history#token={SAM}", "#calls-body tr[data-call='live-hot']"),
            "call": (f"/call#token={SAM}&id=live-hot", "#chart svg.heat-chart"),
        }
        for width, height in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="UTC")
            try:
                for name, (path, ready) in pages.items():
                    view = errors.watch(context.new_page())
                    view.goto(running.http + path)
                    expect(view.locator(ready).first).to_be_visible()
                    if name == "agent":
                        expect(view.locator("#gauge .gauge")).to_have_attribute(
                            "aria-label", re.compile("Hot|Boiling")
                        )
                    view.evaluate("document.fonts.ready")
                    view.screenshot(path=str(ARTIFACTS / f"hot-{name}-{width}x{height}.png"))
                    if name == "agent" and width >= 1366:
                        expect(view.locator("#step .step-card")).to_be_in_viewport(ratio=1)
                    overflow = view.evaluate("document.scrollingElement.scrollWidth - innerWidth")
                    assert overflow <= 1, (name, width, overflow)
                    badges = view.evaluate(BADGE_COLOURS)
                    assert badges, name
                    for badge, fg, bg in badges:
                        assert contrast(fg, bg) >= 4.5, (name, badge, fg, bg)
                    if name == "floor":  # and the call view the tile opens
                        view.locator(ready).click()
                        dialog = view.locator("#detail")
                        expect(dialog.locator("#detail-transcript .turn").first).to_be_visible()
                        view.screenshot(path=str(ARTIFACTS / f"hot-floor-call-{width}x{height}.png"))
                        wide = dialog.evaluate("el => el.scrollWidth - el.clientWidth")
                        assert wide <= 1, ("call view", width, wide)
                    view.close()
            finally:
                context.close()
    finally:
        running.stop()
