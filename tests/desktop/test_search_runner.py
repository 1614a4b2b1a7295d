"""Only the newest query's results are shown; queries waiting behind a slow one are coalesced."""

from __future__ import annotations

import threading

from zssbir_desktop.search.runner import SearchRunner


def test_stale_results_are_dropped_and_waiting_queries_coalesce(qtbot) -> None:
    runner = SearchRunner()
    release = threading.Event()
    ran: list[str] = []
    shown: list[tuple[int, object]] = []
    runner.results.connect(lambda request, value: shown.append((request, value)))

    def slow() -> str:
        release.wait(5)
        ran.append("first")
        return "first"

    def make(name: str):
        def search() -> str:
            ran.append(name)
            return name

        return search

    runner.submit(slow)
    runner.submit(make("second"))
    newest = runner.submit(make("third"))
    release.set()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    runner.runner.wait(5000)
    qtbot.wait(50)
    assert shown == [(newest, "third")]
    assert ran == ["first", "third"]  # "second" was replaced while waiting, never ran
    assert runner.dropped == 1


def test_failure_of_the_newest_query_is_reported(qtbot) -> None:
    runner = SearchRunner()

    def broken() -> None:
        raise ValueError("boom")

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit(broken)
    assert isinstance(blocker.args[1], ValueError)
