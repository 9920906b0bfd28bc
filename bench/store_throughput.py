"""Store throughput: events/s written through StoreSink (committed before `write` returns;
WAL with synchronous=NORMAL, the default, and FULL, `power_safe`) against the raw sqlite3
`executemany` rate of the same rows into the same schema on the same machine, in one run.

The sink is driven the way the hub drives it: many publishers at once, each awaiting its
batch (about one 50 ms tick of events) before sending the next. The raw baseline inserts
the identical rows, already converted to tuples, table by table in one transaction: the
best SQLite can do with no durability promise per batch.

    python bench/store_throughput.py [--calls 600] [--publishers 32] [--batch 40] [--repeat 5]

Target: sink >= 0.5x raw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from monitor.paths import BUNDLED_MODELS
from monitor.store import Store, StoreSink
from monitor.store.rows import INSERTS, RowBatch

TARGET = 0.5
#: Best process CPU seconds per variant: a second view, less sensitive to other load on the machine.
CPU_SECONDS: dict[str, float] = {}


def demo_events(calls: int) -> list[list[dict[str, Any]]]:
    """Per call, the stored events a hub would see: start, turns, heat, coach, alerts, end."""
    transcripts = []
    for path in sorted((BUNDLED_MODELS / "demo_calls").glob("*.jsonl")):
        transcripts.append([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])
    out = []
    for n in range(calls):
        turns = transcripts[n % len(transcripts)]
        call = f"bench-{n}"
        events: list[dict[str, Any]] = [
            {
                "type": "call_started",
                "call": call,
                "t": 0.0,
                "agent": f"agent{n % 12}",
                "started_at": "2026-11-23T09:00:00Z",
                "caller_name": "Bench Caller",
                "source": "bench",
            },
        ]
        heat = 10.0
        for i, turn in enumerate(turns):
            t = float(turn["end"])
            event = {
                "type": "turn",
                "call": call,
                "t": t,
                "speaker": turn["speaker"],
                "text": turn["text"],
                "start": turn["start"],
                "end": turn["end"],
                "confidence": 0.91,
            }
            if turn["speaker"] == "caller":
                event["sentiment"] = {"compound": -0.4, "neg": 0.3, "neu": 0.6, "pos": 0.1}
            events.append(event)
            for k in range(3):  # heat moves several times a turn (decay ticks, cues)
                heat = (heat * 1.07 + 3) % 100
                events.append(
                    {
                        "type": "heat",
                        "call": call,
                        "t": t + k * 0.5,
                        "value": round(heat, 1),
                        "level": "warm",
                        "trend": 4.2,
                        "reasons": ["negative caller turn", "dead air"],
                    }
                )
            if i % 6 == 5:
                events.append(
                    {
                        "type": "coach",
                        "call": call,
                        "t": t,
                        "step": "E",
                        "prompt": "Empathize",
                        "phrases": ["that sounds frustrating"],
                        "done": {"H": True, "E": False},
                    }
                )
            if i % 15 == 14:
                events.append(
                    {
                        "type": "alert",
                        "call": call,
                        "t": t,
                        "id": f"a{i}",
                        "kind": "heat",
                        "level": "hot",
                        "message": "caller is hot",
                        "evidence": [turn["text"][:40]],
                    }
                )
        events.append(
            {"type": "call_ended", "call": call, "t": heat, "duration": 180.0, "summary": {"alerts": 1}}
        )
        out.append(events)
    return out


def raw_rows(
    per_call: list[list[dict[str, Any]]],
) -> tuple[list[tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]]:
    """The rows the sink writes, as tuples: calls, then each child table."""
    calls = []
    batch = RowBatch()
    for pk, events in enumerate(per_call, start=1):
        start = events[0]
        calls.append(
            (
                pk,
                start["call"],
                start["agent"],
                start["caller_name"],
                start["source"],
                start["started_at"],
                1795424400.0,
                1,
                180.0,
                '{"alerts":1}',
            )
        )
        for event in events:
            batch.add(pk, event)
    return calls, batch.rows


def bench_raw(path: Path, per_call: list[list[dict[str, Any]]]) -> float:
    """Seconds to insert the same rows with executemany in one transaction."""
    Store.open(path).close()  # same schema, same journal
    calls, rows = raw_rows(per_call)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    began = time.perf_counter()
    cpu = time.process_time()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO calls (pk, id, agent, caller_name, source, started_at, started_ts, ended, duration,"
        " summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        calls,
    )
    for table, table_rows in rows.items():
        conn.executemany(INSERTS[table], table_rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    CPU_SECONDS["raw"] = min(CPU_SECONDS.get("raw", float("inf")), time.process_time() - cpu)
    conn.close()
    return elapsed


async def bench_sink(
    path: Path, per_call: list[list[dict[str, Any]]], publishers: int, batch: int, power_safe: bool
) -> tuple[float, int]:
    """Seconds to write every event through StoreSink from concurrent publishers; and its commits."""
    sink = StoreSink(path, power_safe=power_safe)
    queues = [per_call[i::publishers] for i in range(publishers)]

    async def publisher(calls: list[list[dict[str, Any]]]) -> None:
        stream = [e for events in calls for e in events]
        for i in range(0, len(stream), batch):
            await sink.write(stream[i : i + batch])

    began = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(publisher(q) for q in queues))
    elapsed = time.perf_counter() - began
    mode = "full" if power_safe else "normal"
    CPU_SECONDS[mode] = min(CPU_SECONDS.get(mode, float("inf")), time.process_time() - cpu)
    await sink.aclose()
    return elapsed, sink.commits


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=600, help="calls to write (default 600)")
    parser.add_argument("--publishers", type=int, default=32, help="concurrent publishers (default 32)")
    parser.add_argument("--batch", type=int, default=40, help="events per publisher batch (default 40)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; the best counts (default 5)")
    args = parser.parse_args()
    per_call = demo_events(args.calls)
    total = sum(len(events) for events in per_call)
    best = {"raw": float("inf"), "normal": float("inf"), "full": float("inf")}
    commits = {"normal": 0, "full": 0}
    with tempfile.TemporaryDirectory() as tmp:
        # Interleaved, best of N: on a shared machine other load hits every variant alike.
        for run in range(args.repeat):
            best["raw"] = min(best["raw"], bench_raw(Path(tmp) / f"raw{run}.sqlite3", per_call))
            for mode in ("normal", "full"):
                path = Path(tmp) / f"{mode}{run}.sqlite3"
                took, commits[mode] = asyncio.run(
                    bench_sink(path, per_call, args.publishers, args.batch, power_safe=mode == "full")
                )
                best[mode] = min(best[mode], took)
                check = sqlite3.connect(path)
                stored = sum(check.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in INSERTS)
                check.close()
                assert stored == total - 2 * args.calls, (stored, total)  # all but call_started/ended
    raw_rate = total / best["raw"]
    print(
        f"events: {total} ({args.calls} calls), {args.publishers} publishers x batches of {args.batch}, "
        f"best of {args.repeat}"
    )
    print(f"{'raw sqlite3 executemany, one transaction':<50} {raw_rate:>9,.0f} events/s   1.00x")
    for mode, label in (
        ("normal", "StoreSink, WAL + NORMAL (default: kill -9 safe)"),
        ("full", "StoreSink, WAL + FULL (power_safe: fsync/commit)"),
    ):
        rate = total / best[mode]
        print(
            f"{label:<50} {rate:>9,.0f} events/s   {rate / raw_rate:.2f}x"
            f"   ({commits[mode]} commits, {total / max(commits[mode], 1):.0f} events/commit)"
        )
    cpu_ratios = ", ".join(
        f"{mode} {CPU_SECONDS['raw'] / CPU_SECONDS[mode]:.2f}x" for mode in ("normal", "full")
    )
    print(f"by process CPU time instead of wall time: {cpu_ratios}")
    ratio = total / best["normal"] / raw_rate
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"target: default sink >= {TARGET}x raw: {ratio:.2f}x {verdict}")


if __name__ == "__main__":
    main()
