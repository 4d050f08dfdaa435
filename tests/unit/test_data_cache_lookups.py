"""Superset's data cache on Trino shares one version query among the chart requests of a burst, but never gives a
request the answer of a query that started before the request did (that query may have read the tables before a write
the request must see). Real threads; the "query" records when it started and what it answers."""

from __future__ import annotations

import threading
import time

import pytest

from pulse_analytics.superset.data_cache import SharedLookup


class SlowQuery:
    """A version query that answers 'v<n>' for the n-th run, blocking until released."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = threading.Event()
        self.running = threading.Event()

    def __call__(self) -> str:
        self.runs += 1
        number = self.runs
        self.running.set()
        self.release.wait(10)
        self.running.clear()
        return f"v{number}"


def lookup_in_thread(lookup: SharedLookup, query: SlowQuery, answers: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: answers.append(lookup.version(query)))
    thread.start()
    return thread


def test_a_burst_shares_the_next_query_not_the_running_one() -> None:
    lookup, query = SharedLookup(), SlowQuery()
    first: list[str] = []
    threads = [lookup_in_thread(lookup, query, first)]
    assert query.running.wait(10)  # query 1 runs for the first request

    burst: list[str] = []
    threads += [lookup_in_thread(lookup, query, burst) for _ in range(8)]  # all begin while query 1 runs
    time.sleep(0.2)
    query.release.set()  # query 1 ends; query 2 starts for the burst and ends at once (released)
    for thread in threads:
        thread.join(10)

    assert first == ["v1"]
    assert burst == ["v2"] * 8  # none got query 1's answer, which started before they began
    assert query.runs == 2


def test_a_lookup_after_a_query_finished_asks_again() -> None:
    lookup, query = SharedLookup(), SlowQuery()
    query.release.set()
    assert lookup.version(query) == "v1"
    assert lookup.version(query) == "v2"  # a finished query's answer is never reused by a later lookup
    assert query.runs == 2


def test_a_failed_query_lets_the_next_lookup_ask() -> None:
    lookup = SharedLookup()

    def failing() -> str:
        raise ConnectionError("Trino not answering")

    with pytest.raises(ConnectionError):
        lookup.version(failing)
    assert lookup.version(lambda: "v") == "v"
