"""Real concurrency for the benchmarks: callables released together by a barrier."""

import threading
import time


def race(calls):
    """Run every callable in its own thread, all released at once.

    Returns (wall seconds, each call's result in order).
    """
    results, barrier = [None] * len(calls), threading.Barrier(len(calls))

    def runner(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(calls))]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, results
