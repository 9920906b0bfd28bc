"""Parallel calls: 4 two-party calls at once in one process (one shared model) vs the same
4 calls one after another, in one run. Vosk releases the GIL while it decodes, so calls
decode in parallel threads. Target: >= 1.7x faster on 2 cores.

A call alone already decodes its two parties in parallel, so "one after another" keeps
more than one core busy. The bench also runs the calls one after another on a single
decoding thread (each call's parties one after the other): the baseline the ratio would
have if heatmon held a lone call to one core, and how much slower a lone call would be.
    python bench/parallel_calls.py [--seconds 90] [--calls 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _asr import eval_call, read_pcm, verdict
from support.ko_speech import model_dir, write_wav

from monitor.analysis.chain import CallAnalysis
from monitor.speech.overlay import Endpointing, endpointing_overlay
from monitor.speech.pool import run_calls
from monitor.speech.recognizer import SpeechModel
from monitor.speech.recordings import WavSource
from monitor.speech.session import CallSpec


def specs(files: dict[str, Path], calls: int) -> list[CallSpec]:
    return [CallSpec(f"c{i}", WavSource(files), CallAnalysis(f"c{i}")) for i in range(calls)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=90.0, help="length of each call (from the eval call)"
    )
    parser.add_argument("--calls", type=int, default=4)
    args = parser.parse_args()
    caller, agent = eval_call()
    model = SpeechModel(endpointing_overlay(model_dir(), Endpointing()))
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for party, path in (("caller", caller), ("agent", agent)):
            pcm, rate = read_pcm(path, args.seconds)
            files[party] = write_wav(Path(tmp) / f"{party}.wav", np.frombuffer(pcm, dtype="<i2"), rate)
        events: list[object] = []

        def one_after_another(threads: int | None) -> tuple[float, float]:
            start, cpu = time.perf_counter(), time.process_time()
            for spec in specs(files, args.calls):
                asyncio.run(run_calls([spec], model, events.append, threads=threads))
            return time.perf_counter() - start, time.process_time() - cpu

        sequential, sequential_cpu = one_after_another(None)
        start, cpu = time.perf_counter(), time.process_time()
        asyncio.run(run_calls(specs(files, args.calls), model, events.append))
        parallel, parallel_cpu = time.perf_counter() - start, time.process_time() - cpu
        serial, serial_cpu = one_after_another(1)
    speedup = sequential / parallel
    cores = len(os.sched_getaffinity(0))
    print(f"{args.calls} two-party calls of {args.seconds:.0f} s each, one model, {cores} cores")
    # cores busy = CPU seconds / wall seconds
    print(
        f"  one after another : {sequential:7.1f} s wall, {sequential_cpu:6.1f} s CPU  "
        f"({sequential_cpu / sequential:.2f} cores busy: each call's two parties decode at once)"
    )
    print(
        f"  all at once       : {parallel:7.1f} s wall, {parallel_cpu:6.1f} s CPU  "
        f"({parallel_cpu / parallel:.2f} cores busy)"
    )
    print(f"  speed-up          : {speedup:7.2f}x  target >= 1.7x  {verdict(speedup >= 1.7)}")
    # Where the speed-up goes: it can be at most the cores over what one call keeps busy,
    # divided by the extra CPU the calls cost when they share the cores.
    print(
        f"  ceiling           : {cores / (sequential_cpu / sequential):7.2f}x  "
        f"(cores / cores one call keeps busy)"
    )
    print(f"  CPU at once       : {parallel_cpu / sequential_cpu:7.2f}x  of one after another")
    print(f"  throughput        : {args.calls * args.seconds / parallel:7.1f}x real time, all at once")
    print(
        f"  one after another, one decoding thread: {serial:7.1f} s wall, {serial_cpu:6.1f} s CPU  "
        f"({serial_cpu / serial:.2f} cores busy)"
    )
    print(
        f"    all at once is {serial / parallel:.2f}x faster than this; a lone call held to one "
        f"thread takes {serial / sequential:.2f}x as long"
    )


if __name__ == "__main__":
    main()
