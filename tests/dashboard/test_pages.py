"""The dashboards in real Chromium against a real hub: a publisher streams scripted calls over
a real websocket, and the floor board and the agent view must show them, live.

Screenshots land in tests/_artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import ARTIFACTS
from support.pages import (
    ALICE,
    BOB,
    KIM,
    SAM,
    STARTED_AT,
    HubThread,
    PageErrors,
    Publisher,
)
from websockets.sync.client import connect

from monitor.events import Alert, CallEnded, CallStarted, Coach, Event, Heat, Partial, Turn
from monitor.transcripts.replay import Replay

pytestmark = pytest.mark.slow  # real Chromium

expect.set_options(timeout=20_000)  # generous: CI machines get busy


def caller(call: str, t: float, text: str, compound: float) -> Turn:
    return Turn(
        call=call,
        t=t,
        speaker="caller",
        text=text,
        start=t - 3,
        end=t,
        sentiment={
            "compound": compound,
            "neg": max(0.0, -compound) / 2,
            "neu": 0.6,
            "pos": max(0.0, compound) / 2,
        },
    )


def agent_says(call: str, t: float, text: str) -> Turn:
    return Turn(call=call, t=t, speaker="agent", text=text, start=t - 2, end=t)


def angry_call(call: str = "c1", agent: str = "alice") -> list[Event]:
    """A caller who heats up: two negative turns, an alert with evidence, coaching from H to E."""
    done = {"H": False, "E": False, "A": False, "T": False}
    return [
        CallStarted(
            call=call,
            t=0.0,
            agent=agent,
            started_at=STARTED_AT,
            caller_name="Maria Lopez",
            caller_number="+15550101",
            source="test",
        ),
        agent_says(call, 4.0, "thanks for calling, this is alice, how can i help"),
        caller(call, 9.5, "i have been waiting for three weeks and nobody helped me", -0.42),
        Heat(
            call=call,
            t=9.5,
            value=41.0,
            level="warm",
            trend=12.0,
            reasons=("negative caller turn", "'nobody helped'"),
        ),
        Coach(
            call=call,
            t=9.6,
            step="H",
            prompt="Let them finish.",
            phrases=("I see.", "Go on, I'm listening."),
            done=done,
        ),
        agent_says(call, 11.0, "i see, go on"),
        caller(call, 16.0, "this is the third time calling and it is still not working", -0.71),
        Heat(call=call, t=16.0, value=78.0, level="hot", trend=30.0, reasons=("'third time calling'",)),
        Alert(
            call=call,
            t=16.0,
            id="a1",
            kind="hot",
            level="hot",
            message="Caller is hot: repeat contact, still not working",
            evidence=("third time calling", "still not working"),
        ),
        Coach(
            call=call,
            t=16.1,
            step="E",
            prompt="Show you understand why they are upset.",
            phrases=("That would be frustrating, three weeks is far too long.",),
            done={**done, "H": True},
        ),
        Partial(call=call, t=17.0, speaker="agent", text="that would be really frustrating"),
    ]


def calm_call(call: str, agent: str, heat: float) -> list[Event]:
    """A quiet call with one caller turn and a given heat."""
    return [
        CallStarted(call=call, t=0.0, agent=agent, started_at=STARTED_AT, source="test"),
        caller(call, 6.0, "hi, i would like to change my address please", 0.32),
        Heat(call=call, t=6.0, value=heat, level="calm" if heat < 40 else "warm", trend=0.0, reasons=()),
    ]


@pytest.fixture
def hub() -> Iterator[HubThread]:
    running = HubThread().start()
    yield running
    running.stop()


@pytest.fixture
def publisher(hub: HubThread) -> Iterator[Publisher]:
    pub = Publisher(hub)
    yield pub
    pub.close()


@pytest.fixture
def open_page(browser: Browser, hub: HubThread) -> Iterator[Any]:
    """open_page(path_with_fragment) -> a new page in a fresh context, at the hub's URL."""
    contexts = []
    watcher = PageErrors()

    def opener(path: str, width: int = 1440, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = watcher.watch(context.new_page())
        page.goto(hub.http + path)
        return page

    opener.watcher = watcher  # type: ignore[attr-defined]
    yield opener
    for context in contexts:
        context.close()
    assert not watcher.errors, watcher.errors


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def tile_order(page: Page) -> list[str]:
    return page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.dataset.call)")


def test_floor_renders_a_live_call_with_gauge_sparkline_step_and_alert(
    open_page: Any, publisher: Publisher
) -> None:
    """The floor shows a call's tile (agent, heat as number, word and shape, step, alert) and figures."""
    publisher.publish(*angry_call("c1"), *calm_call("c2", "bob", 22.0))
    page = open_page(f"/floor#token={SAM}")
    expect(page.locator("#conn")).to_have_text("Live · Sam")
    tile = page.locator('.tile[data-call="c1"]')
    expect(tile.locator(".tile-agent")).to_have_text("alice")
    expect(tile).to_have_attribute("data-level", "hot")
    expect(tile.locator(".gauge-number")).to_have_text("78")
    expect(tile.locator(".level-word")).to_have_text("Hot")
    expect(tile.locator(".gauge .shape-hot")).to_have_count(1)
    expect(tile.locator(".tile-step")).to_contain_text("Empathize")
    expect(tile.locator(".tile-alert")).to_contain_text("repeat contact")
    expect(tile.locator(".sparkline .spark-point")).to_have_count(2)
    expect(tile.locator(".tile-caller")).to_have_text("Maria Lopez · +15550101")
    assert tile_order(page) == ["c1", "c2"]
    expect(page.locator("#fig-live")).to_have_text("2")
    expect(page.locator("#fig-hot")).to_have_text("1")
    expect(page.locator("#fig-avg")).to_have_text("50")
    feed_item = page.locator('#alerts .feed-item[data-alert="a1"]')
    expect(feed_item).to_contain_text("third time calling")
    expect(feed_item.get_by_role("button", name="Acknowledge")).to_be_enabled()
    shot(page, "floor")


def test_call_view_shows_transcript_with_evidence_marked_and_text_never_becomes_markup(
    open_page: Any, publisher: Publisher
) -> None:
    """Enter on a tile opens the live transcript with alert evidence marked; hostile text stays text."""
    publisher.publish(*angry_call("c1"))
    page = open_page(f"/floor#token={SAM}")
    tile = page.locator('.tile[data-call="c1"]')
    expect(tile).to_be_visible()
    tile.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#detail-title")).to_have_text("alice · Maria Lopez")
    expect(dialog.locator(".evidence-mark")).to_have_text(["third time calling", "still not working"])
    expect(dialog.locator(".turn-caller.sent-very-negative")).to_have_count(1)
    expect(dialog.locator(".turn-partial")).to_contain_text("that would be really frustrating")
    hostile = '<img src=x onerror="window.__pwned = 1">'
    publisher.publish(caller("c1", 20.0, hostile, -0.2))
    expect(dialog.locator(".turn-caller").last).to_contain_text(hostile)
    assert page.evaluate("window.__pwned === undefined && !document.querySelector('#detail img')")
    shot(page, "floor_call")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.call") == "c1"


def test_tile_moves_to_the_top_when_its_heat_rises(open_page: Any, publisher: Publisher) -> None:
    """Tiles are sorted hottest first, live: a call whose heat passes the others' moves to the top."""
    publisher.publish(*calm_call("quiet", "alice", 15.0), *calm_call("middle", "bob", 45.0))
    page = open_page(f"/floor#token={SAM}")
    expect(page.locator(".tile")).to_have_count(2)
    assert tile_order(page) == ["middle", "quiet"]
    publisher.publish(
        Heat(call="quiet", t=20.0, value=91.0, level="boiling", trend=40.0, reasons=("'lawyer'",))
    )
    page.wait_for_function("[...document.querySelectorAll('.tile')].map(t => t.dataset.call)[0] === 'quiet'")
    top = page.locator(".tile").first
    expect(top).to_have_attribute("data-level", "boiling")
    expect(top.locator(".level-word")).to_have_text("Boiling")
    expect(page.locator("#fig-hot")).to_have_text("1")
    page.wait_for_timeout(400)  # let the tiles finish gliding before the picture
    shot(page, "floor_reordered")


def test_acknowledge_is_shared_with_other_supervisors_and_the_agent(
    open_page: Any, publisher: Publisher
) -> None:
    """Sam acknowledges an alert; Kim's board and alice's view show it acknowledged by Sam."""
    publisher.publish(*angry_call("c1"))
    sam = open_page(f"/floor#token={SAM}")
    kim = open_page(f"/floor#token={KIM}")
    alice = open_page(f"/agent#token={ALICE}")
    expect(kim.locator('#alerts .feed-item[data-alert="a1"]')).to_be_visible()
    expect(kim.locator("#fig-alerts")).to_have_text("1")
    expect(alice.locator('#alerts .alert-line[data-alert="a1"]')).to_be_visible()
    sam.locator('#alerts .feed-item[data-alert="a1"]').get_by_role("button", name="Acknowledge").click()
    expect(kim.locator('#alerts .feed-item[data-alert="a1"] .acked')).to_contain_text("Acknowledged by Sam")
    expect(kim.locator("#fig-alerts")).to_have_text("0")
    expect(sam.locator('#alerts .feed-item[data-alert="a1"]')).to_have_class("feed-item is-acked")
    expect(alice.locator('#alerts .alert-line[data-alert="a1"]')).to_contain_text("Seen by Sam")
    # A board opened after the acknowledgement learns it from the hub's snapshot.
    late = open_page(f"/floor#token={KIM}")
    expect(late.locator('#alerts .feed-item[data-alert="a1"] .acked')).to_contain_text("Acknowledged by Sam")
    shot(kim, "floor_acked")


def test_agent_view_shows_only_their_call_with_step_card_and_sentiment(
    open_page: Any, publisher: Publisher
) -> None:
    """alice sees her call (caller, sentiment-coloured transcript, gauge, step card, checklist), not bob's."""
    publisher.publish(*angry_call("c1", "alice"), *calm_call("c2", "bob", 30.0))
    page = open_page(f"/agent#token={ALICE}", width=1280, height=800)
    expect(page.locator("#conn")).to_have_text("Live · alice")
    expect(page.locator("#caller-name")).to_have_text("Caller: Maria Lopez · +15550101")
    expect(page.locator("#transcript .turn-caller")).to_have_count(2)
    expect(page.locator("#transcript .turn-caller.sent-very-negative")).to_have_count(1)
    expect(page.locator("#transcript .turn-caller.sent-negative")).to_have_count(1)
    expect(page.locator("#transcript")).not_to_contain_text("change my address")
    expect(page.locator("#transcript .turn-partial")).to_contain_text("that would be really frustrating")
    expect(page.locator("#gauge .gauge-number")).to_have_text("78")
    expect(page.locator("#gauge .level-word")).to_have_text("Hot")
    expect(page.locator("#step .step-name")).to_have_text("Empathize")
    expect(page.locator("#step .step-phrases")).to_contain_text("three weeks is far too long")
    expect(page.locator('#checklist .check-done[data-step="H"]')).to_have_count(1)
    expect(page.locator('#checklist .check-current[data-step="E"]')).to_have_count(1)
    assert page.evaluate("[...window.heatmonAgent.book.calls.keys()]") == ["c1"]
    shot(page, "agent")

    snooze = page.locator("#snooze")
    snooze.focus()
    page.keyboard.press("Enter")
    expect(snooze).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#step")).to_contain_text("Prompts are snoozed")
    expect(page.locator("#step .step-phrases")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator("#step .step-name")).to_have_text("Empathize")


def calm_call_played(call: str = "c1", agent: str = "alice") -> list[Event]:
    """A calm call through the real analysis chain, still live: the agent hears the caller out and
    empathises, and no prompt is ever due."""
    turns = [
        agent_says(call, 3.5, "good morning northline this is alice how can i help"),
        Turn(
            call=call,
            t=8.5,
            speaker="caller",
            text="hi my internet keeps dropping in the evenings since i moved house",
            start=4.2,
            end=8.5,
        ),
        agent_says(call, 12.5, "i see that must be really annoying when you are working from home"),
    ]
    events = list(Replay(turns, call, agent=agent, started_at=STARTED_AT, source="test").events())
    assert isinstance(events[-1], CallEnded)
    return events[:-1]


def test_agent_checklist_ticks_the_steps_taken_on_a_calm_call(open_page: Any, publisher: Publisher) -> None:
    """On a calm call (no prompts) the agent's checklist ticks H and E as they are taken, the step card
    says there is no prompt right now instead of showing an empty one, and the floor tile moves on to A."""
    events = calm_call_played()
    assert [e.prompt for e in events if isinstance(e, Coach)] == [""]
    publisher.publish(*events)
    page = open_page(f"/agent#token={ALICE}", width=1280, height=800)
    expect(page.locator("#conn")).to_have_text("Live · alice")
    expect(page.locator("#gauge .level-word")).to_have_text("Calm")
    expect(page.locator('#checklist .check-done[data-step="E"]')).to_have_count(1)
    expect(page.locator('#checklist .check-done[data-step="H"]')).to_have_count(1)
    expect(page.locator('#checklist .check-current[data-step="A"]')).to_have_count(1)
    expect(page.locator('#checklist .check-done[data-step="T"]')).to_have_count(0)
    quiet = page.locator("#step .step-card-quiet")
    expect(quiet).to_contain_text("No prompt right now")
    expect(quiet).to_contain_text("Next step when you need it: Ask questions")
    expect(page.locator("#step .step-prompt, #step .step-phrases")).to_have_count(0)
    shot(page, "agent_calm_steps_ticked")
    floor = open_page(f"/floor#token={SAM}")
    # The tile says what the agent's screen says: no prompt, and no step chip.
    expect(floor.locator('.tile[data-call="c1"] .tile-step')).to_have_text("No prompt right now")
    expect(floor.locator('.tile[data-call="c1"] .tile-step .step-chip')).to_have_count(0)


def test_ticked_steps_keep_the_last_prompt_until_its_step_is_taken(
    open_page: Any, publisher: Publisher
) -> None:
    """A prompt-less coach event ticks the checklist under the last prompt (kept on reload, from the
    hub's snapshot); once the prompted step is taken the card goes quiet, and all steps read as done."""
    publisher.publish(*angry_call("c1", "alice"))
    page = open_page(f"/agent#token={ALICE}", width=1280, height=800)
    prompt = page.locator("#step .step-prompt")
    expect(prompt).to_have_text("Show you understand why they are upset.")

    def ticked(t: float, step: str, done: str) -> Coach:
        return Coach(call="c1", t=t, step=step, prompt="", done={s: s in done for s in "HEAT"})

    publisher.publish(ticked(18.0, "E", "HA"))  # the agent asked a question, not yet empathised
    expect(page.locator('#checklist .check-done[data-step="A"]')).to_have_count(1)
    expect(prompt).to_have_text("Show you understand why they are upset.")
    expect(page.locator("#step .step-phrases")).to_contain_text("three weeks is far too long")
    page.reload()
    expect(page.locator('#checklist .check-done[data-step="A"]')).to_have_count(1)
    expect(prompt).to_have_text("Show you understand why they are upset.")
    shot(page, "agent_prompt_kept_under_ticked_steps")

    publisher.publish(ticked(21.0, "T", "HEA"))
    quiet = page.locator("#step .step-card-quiet")
    expect(quiet).to_contain_text("Next step when you need it: Take responsibility")
    expect(prompt).to_have_count(0)
    publisher.publish(ticked(30.0, "T", "HEAT"))
    expect(quiet).to_contain_text("Every step taken.")
    expect(page.locator("#checklist .check-done")).to_have_count(4)
    floor = open_page(f"/floor#token={SAM}")
    expect(floor.locator('.tile[data-call="c1"] .tile-step')).to_contain_text("All steps taken")


def test_supervisor_message_reaches_the_agent_view(open_page: Any, publisher: Publisher) -> None:
    """A message sent from the call view shows on the agent's screen, from its sender; Got it hides it."""
    publisher.publish(*angry_call("c1", "alice"))
    alice = open_page(f"/agent#token={ALICE}", width=1280, height=800)
    sam = open_page(f"/floor#token={SAM}")
    expect(alice.locator("#messages")).to_be_hidden()
    sam.locator('.tile[data-call="c1"]').click()
    expect(sam.locator("#message-label")).to_have_text("Message to alice")
    sam.locator("#message-text").fill("I am listening in; you can offer the refund.")
    sam.get_by_role("button", name="Send to agent").click()
    expect(sam.locator("#message-status")).to_contain_text("Sent")
    message = alice.locator("#messages .message")
    expect(message).to_contain_text("I am listening in; you can offer the refund.")
    expect(message.locator(".message-from")).to_contain_text("From Sam")
    expect(sam.locator("#message-sent")).to_contain_text("offer the refund")
    shot(alice, "agent_message")
    message.get_by_role("button", name="Got it").click()
    expect(alice.locator("#messages")).to_be_hidden()


def test_wrong_or_missing_token_says_so_clearly(open_page: Any) -> None:
    """A refused token shows why and what to do, and the page stops retrying; no token at all says so too."""
    page = open_page("/floor#token=not-a-real-token")
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("refused this page's access token (invalid token)")
    expect(page.locator("#conn")).to_have_text("Not signed in")
    shot(page, "floor_refused")
    agent_with_supervisor_token = open_page(f"/agent#token={SAM}")
    expect(agent_with_supervisor_token.locator("#banner")).to_contain_text("token is not for role agent")
    bare = open_page("/agent")
    expect(bare.locator("#banner")).to_contain_text("This page needs an access token")


def test_disconnect_banner_then_reconnects_to_a_restarted_hub(
    open_page: Any, hub: HubThread, publisher: Publisher
) -> None:
    """When the hub stops the page says it is disconnected; when the hub is back it goes live by itself."""
    publisher.publish(*angry_call("c1"), *calm_call("c2", "bob", 30.0))
    page = open_page(f"/floor#token={SAM}")
    expect(page.locator(".tile")).to_have_count(2)
    port = hub.port
    hub.stop()
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Disconnected from the hub")
    expect(page.locator("#conn")).to_have_text("Disconnected")
    expect(banner).to_contain_text("may be out of date")
    expect(page.locator("body")).to_have_class("page-floor is-stale")
    shot(page, "floor_disconnected")
    again = HubThread(port).start()
    try:
        pub = Publisher(again)
        pub.publish(*calm_call("after-restart", "bob", 12.0))
        pub.close()
        expect(page.locator("#conn")).to_have_text("Live · Sam", timeout=15000)
        expect(banner).to_be_hidden()
        expect(page.locator('.tile[data-call="after-restart"]')).to_be_visible()
        # The restarted hub knows nothing of the old calls; the page rebuilt from its snapshot.
        expect(page.locator(".tile")).to_have_count(1)
    finally:
        again.stop()


def test_reconnect_with_last_seq_replays_what_was_missed_exactly_once(
    open_page: Any, publisher: Publisher
) -> None:
    """A page that loses its socket gets the events it missed from the hub's replay window, none twice."""
    publisher.publish(*angry_call("c1"))
    page = open_page(f"/floor#token={SAM}")
    expect(page.locator('.tile[data-call="c1"]')).to_be_visible()
    first = page.evaluate("window.heatmonFloor.connection.lastWelcome")
    assert first["replay"] is False
    # Hold the page offline (no automatic retry) while the call goes on.
    page.evaluate(
        "(() => { const c = window.heatmonFloor.connection; c.stopped = true; c.socket.close(); })()"
    )
    page.wait_for_function("!window.heatmonFloor.connection.connected")
    publisher.publish(
        caller("c1", 30.0, "fine, what happens next", -0.1),
        Heat(
            call="c1", t=30.0, value=35.0, level="warm", trend=-20.0, reasons=("agent took responsibility",)
        ),
    )
    page.evaluate("(() => { const c = window.heatmonFloor.connection; c.stopped = false; c.connect(); })()")
    expect(page.locator("#conn")).to_have_text("Live · Sam")
    assert page.evaluate("window.heatmonFloor.connection.lastWelcome.replay") is True
    expect(page.locator('.tile[data-call="c1"] .gauge-number')).to_have_text("35")
    turns = page.evaluate("window.heatmonFloor.book.get('c1').turns.map(t => t.text)")
    assert turns.count("fine, what happens next") == 1
    assert len(turns) == 5


def test_unknown_event_types_are_reported_not_fatal(open_page: Any, publisher: Publisher) -> None:
    """The page's dispatch reports an event type it does not know on the console and carries on."""
    publisher.publish(*calm_call("c9", "bob", 20.0))
    page = open_page(f"/floor#token={SAM}")
    expect(page.locator('.tile[data-call="c9"]')).to_be_visible()
    page.evaluate("window.heatmonFloor.dispatch({type: 'mystery', call: 'c9', t: 1, seq: 1})")
    warnings = open_page.watcher.warnings
    assert any("unknown event type mystery" in text for text in warnings), warnings
    publisher.publish(Heat(call="c9", t=9.0, value=55.0, level="warm", trend=3.0, reasons=()))
    expect(page.locator('.tile[data-call="c9"] .gauge-number')).to_have_text("55")


def test_a_busy_floor_is_sorted_hottest_first_with_ended_calls_last(
    open_page: Any, publisher: Publisher
) -> None:
    """Twelve calls at many heats (one ended) show hottest first at `/`, the ended one last and marked."""
    agents = ["alice", "bob", "chen", "dana", "eli", "fatima", "gus", "hana", "ivan", "jo", "kai", "lena"]
    heats = [12.0, 88.0, 35.0, 64.0, 5.0, 47.0, 93.0, 28.0, 71.0, 52.0, 19.0, 40.0]
    levels = {0: "calm", 40: "warm", 60: "hot", 85: "boiling"}
    events: list[Event] = []
    for i, (agent, heat) in enumerate(zip(agents, heats, strict=True)):
        call = f"call-{i:02d}"
        level = [name for floor, name in levels.items() if heat >= floor][-1]
        events += [
            CallStarted(call=call, t=0.0, agent=agent, started_at=STARTED_AT, source="test"),
            caller(call, 5.0 + i, "it still does not work", -0.3 - heat / 200),
            caller(call, 12.0 + i, "okay, thank you", 0.2 if heat < 50 else -0.6),
            Heat(call=call, t=12.0 + i, value=heat, level=level, trend=heat / 10 - 4, reasons=()),
            Coach(call=call, t=12.5 + i, step="HEAT"[i % 4], prompt="...", done={"H": i % 4 > 0}),
        ]
        if heat >= 60:
            events.append(
                Alert(call=call, t=13.0 + i, id="a1", kind="heat", level=level, message=f"Caller is {level}")
            )
    events.append(CallEnded(call="call-06", t=40.0, duration=40.0))
    publisher.publish(*events)
    page = open_page(f"/#token={SAM}", width=1600, height=1000)
    expect(page.locator(".tile")).to_have_count(12)
    expect(page.locator(".tile").last).to_have_class("tile tile-ended")
    expect(page.locator(".tile").last).to_contain_text("Ended after 0:40")
    live = sorted((h for i, h in enumerate(heats) if i != 6), reverse=True)
    shown = page.eval_on_selector_all(
        ".tile .gauge-number", "numbers => numbers.map(n => Number(n.textContent))"
    )
    assert shown == [*live, 93]
    expect(page.locator("#fig-live")).to_have_text("11")
    expect(page.locator("#fig-hot")).to_have_text("3")
    expect(page.locator("#fig-avg")).to_have_text(str(round(sum(live) / len(live))))
    page.wait_for_timeout(400)
    shot(page, "floor_busy")


def test_shared_modules_pure_logic(open_page: Any) -> None:
    """The pages' pure helpers: token from the fragment, close reasons, the shared event reducer
    (state in, new state out, the old one untouched), sorting, figures, scores, evidence."""
    page = open_page("/agent")  # no token: the page stays offline, a same-origin place to import modules
    result = page.evaluate(
        """async () => {
        const hub = await import('/js/hub.js');
        const cs = await import('/js/callstate.js');
        const spark = await import('/js/sparkline.js');
        const gauge = await import('/js/gauge.js');
        const transcript = await import('/js/transcript.js');
        let state = cs.initialState();
        const events = [
            [{type: 'call_started', call: 'a', t: 0, agent: 'x'}, 0],
            [{type: 'call_started', call: 'b', t: 0, agent: 'y'}, 0],
            [{type: 'call_started', call: 'c', t: 0, agent: 'z'}, 0],
            [{type: 'heat', call: 'a', t: 5, value: 30, level: 'calm', trend: 0}, 1000],
            [{type: 'heat', call: 'b', t: 5, value: 80, level: 'hot', trend: 0}, 1000],
            [{type: 'alert', call: 'b', t: 5, id: 'a1', kind: 'hot', level: 'warning',
              message: 'Call is hot'}, 1000],
            [{type: 'heat', call: 'c', t: 5, value: 95, level: 'boiling', trend: 0}, 1000],
            [{type: 'alert', call: 'c', t: 5, id: 'a1', kind: 'abuse', level: 'critical',
              message: 'abuse'}, 1000],
            [{type: 'call_ended', call: 'c', t: 9, duration: 9}, 2000],
        ];
        for (const [event, now] of events) state = cs.reduce(state, event, now);
        let oneByOne = cs.initialState();
        for (const [event] of events) oneByOne = cs.reduce(oneByOne, event, 5000);
        const batched = cs.reduceAll(cs.initialState(), events.map(([event]) => event), 5000);
        const sameBatch = JSON.stringify([...batched.calls]) === JSON.stringify([...oneByOne.calls]);
        const beforeAck = state;
        const acked = cs.reduce(state, {type: 'alert_ack', call: 'b', id: 'a1', by: 'Sam', t: 7}, 3000);
        const cooled = cs.reduce(state,
            {type: 'heat', call: 'b', t: 8, value: 7, level: 'calm', trend: -30}, 3000);
        const again = cs.reduce(state, {type: 'call_started', call: 'c', t: 0, agent: 'w'}, 4000);
        const marked = transcript.markEvidence('he said (a+b) twice: (a+b)', ['"(a+b)"']);
        const reloaded = cs.fromSnapshot({calls: [{call: 's', t: 9, sentiments: [[4, -0.9], [9, 0.1]]}],
            alerts: [{call: 'gone', id: 'a1'}]}, 0);
        const warned = [];
        const warn = console.warn;
        console.warn = (...args) => warned.push(args.join(' '));
        const unknown = cs.reduce(state, {type: 'mystery', call: 'a', t: 1}, 0);
        console.warn = warn;
        return {
            token: hub.tokenFromHash('#token=abc%2Bdef&x=1'),
            noToken: hub.tokenFromHash(''),
            refused: hub.isAuthRefusal(1008, 'invalid token'),
            tooSlow: hub.isAuthRefusal(1008, 'viewer too slow'),
            goingAway: hub.closeReason(1001, ''),
            sorted: cs.sorted(state).map(c => c.call),
            figures: cs.figures(state),
            ackedFigures: cs.figures(acked).openAlerts,
            untouched: beforeAck.calls.get('b').alerts[0].acked_by,
            ackedBy: acked.calls.get('b').alerts[0].acked_by,
            hotChip: cs.latestAlert(state.calls.get('b'))?.id ?? null,
            cooledChip: cs.latestAlert(cooled.calls.get('b'))?.id ?? null,
            endedChip: cs.latestAlert(state.calls.get('c'))?.id ?? null,
            restarted: ['ended', 'alerts', 'agent'].map(key => again.calls.get('c')[key])
                .map(value => Array.isArray(value) ? value.length : value),
            elapsed: cs.elapsed(state.calls.get('a'), 4000),
            endedElapsed: cs.elapsed(state.calls.get('c'), 99000),
            pruned: cs.prune(state, 200000, 60000).removed,
            score: cs.turnScore({sentiment: {compound: -0.4, score: -0.7}}),
            compound: cs.turnScore({sentiment: {compound: -0.4}}),
            words: [-0.8, -0.2, 0, 0.3, 0.9].map(spark.sentimentWord),
            trend: [gauge.trendText(12.4), gauge.trendText(-3), gauge.trendText(0.1)],
            marks: marked.filter(part => typeof part !== 'string').map(el => el.textContent),
            reloadedSentiments: reloaded.calls.get('s').sentiments,
            reloadedCalls: [...reloaded.calls.keys()],
            unknownSame: unknown === state,
            sameBatch,
            warned,
        };
    }"""
    )
    assert result["token"] == "abc+def"
    assert result["noToken"] == ""
    assert result["refused"] is True and result["tooSlow"] is False
    assert "shutting down" in result["goingAway"]
    assert result["sorted"] == ["b", "a", "c"]
    # The ended call's alert is no longer open; the live hot call's is.
    assert result["figures"] == {"live": 2, "hot": 1, "average": 55, "openAlerts": 1}
    assert result["ackedFigures"] == 0
    assert result["untouched"] is None and result["ackedBy"] == "Sam"
    assert result["hotChip"] == "a1" and result["cooledChip"] is None and result["endedChip"] is None
    assert result["restarted"] == [False, 0, "w"]  # a call id started again is a new call
    assert result["elapsed"] == 8
    assert result["endedElapsed"] == 9
    assert result["pruned"] == ["c"]
    assert result["score"] == -0.7 and result["compound"] == -0.4
    assert result["words"] == ["very negative", "negative", "neutral", "positive", "very positive"]
    assert result["trend"] == ["↑ +12/min", "↓ −3/min", "steady"]
    assert result["marks"] == ["(a+b)", "(a+b)"]
    assert result["reloadedSentiments"] == [[4, -0.9], [9, 0.1]]
    assert result["reloadedCalls"] == ["s"]  # an alert of a call no longer on the floor makes no tile
    assert result["unknownSame"] is True
    assert result["sameBatch"] is True  # a batch folds in exactly as its events one by one
    assert any("unknown event type mystery" in text for text in result["warned"]), result["warned"]


def test_alert_severities_read_by_word_and_shape_and_the_agent_sees_the_call_end(
    open_page: Any, publisher: Publisher
) -> None:
    """Critical/warning/info alerts show their word and shape; a call's end shows its summary to the agent."""
    publisher.publish(
        *angry_call("c1", "alice"),
        Alert(
            call="c1",
            t=18.0,
            id="a2",
            kind="abuse",
            level="critical",
            message="Caller is using abusive language",
        ),
        Alert(call="c1", t=19.0, id="a3", kind="talk_over", level="info", message="Talk-over"),
        Alert(call="c1", t=20.0, id="a4", kind="rising_fast", level="warning", message="Heat rising fast"),
    )
    floor = open_page(f"/floor#token={SAM}")
    for alert_id, word, shape in [
        ("a2", "Critical", "boiling"),
        ("a3", "Info", "info"),
        ("a4", "Warning", "warm"),
    ]:
        item = floor.locator(f'#alerts .feed-item[data-alert="{alert_id}"]')
        expect(item.locator(".level-word")).to_have_text(word)
        expect(item.locator(f".shape-{shape}")).to_have_count(1)
    alice = open_page(f"/agent#token={ALICE}", width=1280, height=800)
    expect(alice.locator("#alerts .alert-line")).to_have_count(4)
    publisher.publish(
        CallEnded(
            call="c1",
            t=95.0,
            duration=95.0,
            summary={"peak_heat": 78.4, "steps_done": {"H": True, "E": True, "A": False, "T": False}},
        )
    )
    expect(alice.locator("#step")).to_contain_text("Call ended after 1:35.")
    expect(alice.locator("#step")).to_contain_text("Peak heat 78.")
    expect(alice.locator("#step")).to_contain_text("Steps taken: H, E.")
    expect(alice.locator("#call-time")).to_have_text("Ended · 1:35")
    expect(floor.locator('.tile[data-call="c1"]')).to_contain_text("Ended after 1:35")
    expect(floor.locator("#fig-live")).to_have_text("0")


def supervisor_says(hub: HubThread, call: str, text: str) -> None:
    """Supervisor Sam sends a message to a call's agent over a real websocket, as the call view does."""
    with connect(f"ws://127.0.0.1:{hub.port}/ws") as ws:
        ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": SAM}))
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        ws.send(json.dumps({"type": "message", "call": call, "text": text}))
        while True:
            reply = json.loads(ws.recv(timeout=5))
            assert reply.get("type") != "error", reply
            events = reply["events"] if reply.get("type") == "batch" else [reply]
            if any(e.get("type") == "supervisor_message" for e in events):
                return


def six_alerts(call: str = "c1") -> list[Event]:
    """Five more alerts on top of angry_call's one: a hot call as the floor sees it."""
    kinds = [
        ("rising_fast", "warning", "Heat rising fast: +30 per minute"),
        ("repeat_contact", "warning", "Repeat contact: third time calling"),
        ("escalation", "warning", "Caller asks for a manager"),
        ("abuse", "critical", "Caller is using abusive language"),
        ("talk_over", "info", "agent spoke over the other party"),
    ]
    return [
        Alert(call=call, t=16.5 + i, id=f"x{i}", kind=kind, level=level, message=message)
        for i, (kind, level, message) in enumerate(kinds)
    ]


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_agent_step_card_and_phrases_stay_on_screen_with_six_alerts_open(
    open_page: Any, publisher: Publisher, size: tuple[int, int]
) -> None:
    """On a hot call with six alerts open (and a supervisor's message on top), the agent's
    current step, its prompt and every phrase lie inside the viewport; the alerts fold into a
    compact list."""
    publisher.publish(*angry_call("c1", "alice"), *six_alerts())
    width, height = size
    page = open_page(f"/agent#token={ALICE}", width=width, height=height)
    expect(page.locator("#alerts [data-alert]")).to_have_count(6)
    for part in ["#step .step-name", "#step .step-prompt", "#step .step-phrases li", "#checklist"]:
        expect(page.locator(part).last).to_be_in_viewport(ratio=1)
    card = page.locator(".card-step").bounding_box()
    assert card is not None and card["y"] >= 0 and card["y"] + card["height"] <= height, card
    # The page itself does not scroll: nothing of it is below the fold.
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1")
    shot(page, f"agent_six_alerts_{width}x{height}")


def test_transcript_follows_the_call_through_a_supervisor_message_until_the_agent_scrolls_up(
    open_page: Any, hub: HubThread, publisher: Publisher
) -> None:
    """The agent's transcript keeps the newest turn in view when a supervisor's message appears
    above it and as turns and partials keep coming; once the agent scrolls up it stays put."""
    publisher.publish(*angry_call("c1", "alice"))
    page = open_page(f"/agent#token={ALICE}", width=1366, height=768)
    scroller = page.locator("#transcript-scroll")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 4"

    def say(first: int, count: int) -> None:
        for i in range(first, first + count):
            t = 20.0 + 4 * i
            publisher.publish(
                Partial(call="c1", t=t - 1, speaker="caller", text=f"and another thing number {i}"),
                caller("c1", t, f"and another thing number {i}, it is still not fixed", -0.4),
                agent_says("c1", t + 1, f"i understand, reply {i}"),
            )

    say(0, 12)
    expect(page.locator("#transcript .turn-agent").last).to_contain_text("reply 11")
    page.wait_for_function(f"({at_bottom})(document.getElementById('transcript-scroll'))")
    supervisor_says(hub, "c1", "Offer the refund now, I approve it.")
    expect(page.locator("#messages .message")).to_be_visible()
    say(12, 6)
    newest = page.locator("#transcript .turn-agent").last
    expect(newest).to_contain_text("reply 17")
    expect(newest).to_be_in_viewport()
    page.wait_for_function(f"({at_bottom})(document.getElementById('transcript-scroll'))")

    # The agent scrolls up to read something: new turns no longer pull the view down.
    scroller.hover()
    page.mouse.wheel(0, -100_000)
    page.wait_for_function("document.getElementById('transcript-scroll').scrollTop < 50")
    say(18, 2)
    expect(page.locator("#transcript .turn-agent").last).to_contain_text("reply 19")
    assert scroller.evaluate("el => el.scrollTop") < 50
    shot(page, "agent_transcript_after_message")


def test_supervisor_messages_belong_to_their_call_not_the_agents_next_one(
    open_page: Any, hub: HubThread, publisher: Publisher
) -> None:
    """A message sent during alice's call shows on that call; her next call starts without it,
    also for a page opened after it started (the hub's snapshot)."""
    publisher.publish(*angry_call("c1", "alice"))
    page = open_page(f"/agent#token={ALICE}", width=1366, height=768)
    supervisor_says(hub, "c1", "Offer the refund now, I approve it.")
    expect(page.locator("#messages .message")).to_contain_text("Offer the refund")
    publisher.publish(CallEnded(call="c1", t=60.0, duration=60.0), *calm_call("c2", "alice", 12.0))
    expect(page.locator("#transcript")).to_contain_text("change my address")
    expect(page.locator("#messages .message")).to_have_count(0)
    expect(page.locator("#messages")).to_be_hidden()
    late = open_page(f"/agent#token={ALICE}", width=1366, height=768)
    expect(late.locator("#transcript")).to_contain_text("change my address")
    expect(late.locator("#messages .message")).to_have_count(0)


def test_floor_tile_step_says_what_the_agent_sees(open_page: Any, publisher: Publisher) -> None:
    """A tile names a step only while the agent's screen prompts it; a calm call whose coach only
    ticked steps says "No prompt right now", as the agent's card does, without a step chip."""
    publisher.publish(*angry_call("hot", "alice"), *calm_call_played("calm", "bob"))
    floor = open_page(f"/floor#token={SAM}")
    expect(floor.locator('.tile[data-call="hot"] .tile-step')).to_have_text("ENow: Empathize")
    expect(floor.locator('.tile[data-call="calm"] .tile-step')).to_have_text("No prompt right now")
    expect(floor.locator('.tile[data-call="calm"] .tile-step .step-chip')).to_have_count(0)
    bob = open_page(f"/agent#token={BOB}", width=1366, height=768)
    expect(bob.locator("#step")).to_contain_text("No prompt right now")


def test_alerts_of_ended_calls_leave_the_open_count_and_stale_chips_go(
    open_page: Any, publisher: Publisher
) -> None:
    """ "Call is hot" leaves its tile once the call has cooled to 7; when a call ends its alerts
    leave the open count, and the feed keeps them below the open ones, marked."""
    publisher.publish(
        *angry_call("c1", "alice"),
        Alert(call="c1", t=16.2, id="hot1", kind="hot", level="warning", message="Call is hot"),
        *calm_call("c2", "bob", 20.0),
        Alert(call="c2", t=6.5, id="ab1", kind="abuse", level="critical", message="Abusive language"),
    )
    floor = open_page(f"/floor#token={SAM}")
    chip = floor.locator('.tile[data-call="c1"] .tile-alert')
    expect(chip).to_contain_text("Call is hot")
    expect(floor.locator("#fig-alerts")).to_have_text("3")
    publisher.publish(
        Heat(call="c1", t=90.0, value=7.0, level="calm", trend=-40.0, reasons=("cooling down over time",))
    )
    expect(floor.locator('.tile[data-call="c1"] .gauge-number')).to_have_text("7")
    expect(chip).to_be_hidden()
    expect(floor.locator('#alerts .feed-item[data-alert="hot1"]')).to_contain_text("no longer true")
    publisher.publish(CallEnded(call="c2", t=30.0, duration=30.0))
    expect(floor.locator("#fig-alerts")).to_have_text("2")
    expect(floor.locator('.tile[data-call="c2"] .tile-alert')).to_be_hidden()
    ended = floor.locator('#alerts .feed-item[data-alert="ab1"]')
    expect(ended).to_contain_text("call ended")
    expect(ended).to_have_class("feed-item is-stale")
    publisher.publish(CallEnded(call="c1", t=95.0, duration=95.0))
    expect(floor.locator("#fig-alerts")).to_have_text("0")
    late = open_page(f"/floor#token={SAM}")  # from the hub's snapshot, the same
    expect(late.locator(".tile")).to_have_count(2)
    expect(late.locator("#fig-alerts")).to_have_text("0")


def test_live_pages_give_every_time_on_the_calls_clock_and_label_the_heat_number(
    open_page: Any, hub: HubThread, publisher: Publisher
) -> None:
    """Alerts, acknowledgements and messages read in call time (m:ss) on the floor, the call view
    and the agent's view; the tile's number is labelled as caller heat on a 0-100 scale."""
    publisher.publish(*angry_call("c1", "alice"))
    floor = open_page(f"/floor#token={SAM}")
    alice = open_page(f"/agent#token={ALICE}", width=1366, height=768)
    item = floor.locator('#alerts .feed-item[data-alert="a1"]')
    expect(item.locator(".feed-when")).to_have_text("at 0:16")
    expect(alice.locator('#alerts [data-alert="a1"] .feed-when')).to_have_text("at 0:16")
    tile = floor.locator('.tile[data-call="c1"]')
    expect(tile.locator(".tile-heat .tile-label")).to_have_text("Caller heat 0-100")
    expect(tile).not_to_contain_text("Caller sentiment")
    publisher.publish(Alert(call="c1", t=17.0, id="a9", kind="abuse", level="critical", message="Abuse"))
    expect(floor.locator('#alerts .feed-item[data-alert="a9"] .feed-when')).to_have_text("at 0:17")
    item.get_by_role("button", name="Acknowledge").click()
    expect(item.locator(".acked")).to_have_text("✓ Acknowledged by Sam at 0:17")
    supervisor_says(hub, "c1", "Offer the refund now.")
    expect(alice.locator("#messages .message-from")).to_have_text("From Sam · at 0:17")
    tile.click()
    expect(floor.locator("#message-sent li")).to_contain_text("Sam at 0:17:")
    expect(floor.locator('#detail-alerts [data-alert="a1"] .feed-when')).to_have_text("at 0:16")
