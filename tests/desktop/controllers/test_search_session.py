"""The search session without a window: a real engine, library, index and model; the "canvas" is
a real Sketchy sketch file handed over as the query."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.desktop.controllers.conftest import WAIT_MS
from zssbir_desktop.engine import Engine
from zssbir_desktop.search.session import SearchSession, Sketch


def cat_sketch(sketchy_root: Path) -> Path:
    return sorted((sketchy_root / "sketch" / "cat").glob("*.png"))[0]


class Picture:
    """A query source holding one picture (a file or an image), as a canvas holding it would;
    ``asked`` counts how often the session asked for it."""

    def __init__(self, query: Sketch) -> None:
        self.picture = query
        self.asked = 0

    def query(self) -> Sketch:
        self.asked += 1
        return self.picture

    def is_blank(self) -> bool:
        return False


def test_a_stroke_searches_after_a_pause_and_reports_the_count(qtbot, indexed_engine, sketchy_root) -> None:
    session = SearchSession(indexed_engine, Picture(cat_sketch(sketchy_root)), page_size=24)
    statuses: list[str] = []
    session.status.connect(statuses.append)
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
        session.sketch_changed(blank=False)
        assert session.timer.isActive()  # debounced, not searched at once
    results = blocker.args[0]
    assert len(results) == 6 and statuses[-1] == "6 results"
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert session.query == cat_sketch(sketchy_root)


def test_a_drawn_picture_is_a_query_too(qtbot, indexed_engine) -> None:
    drawing = Image.new("RGB", (256, 256), "white")
    session = SearchSession(indexed_engine, Picture(drawing), page_size=4)
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
        session.sketch_changed(blank=False)
    assert len(blocker.args[0]) == 4


def test_show_more_fetches_the_next_page_and_a_short_page_ends_it(qtbot, indexed_engine, sketchy_root) -> None:
    session = SearchSession(indexed_engine, Picture(cat_sketch(sketchy_root)), page_size=4)
    more: list[bool] = []
    session.more_available.connect(more.append)
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as first:
        session.sketch_changed(blank=False)
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as second:
        session.show_more()
    assert len(first.args[0]) == 4 and len(second.args[0]) == 6  # 8 asked, 6 photos in the library
    assert [r.id for r in second.args[0][:4]] == [r.id for r in first.args[0]]
    assert more == [True, False]


def test_the_folder_filter_limits_results_and_forgets_removed_folders(qtbot, indexed_engine, sketchy_root) -> None:
    session = SearchSession(indexed_engine, Picture(cat_sketch(sketchy_root)), page_size=24)
    session.sketch_changed(blank=False)
    cats = next(path for path, _count in indexed_engine.folders() if path.endswith("cats"))
    changes: list[frozenset[str]] = []
    session.folder_filter_changed.connect(changes.append)
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
        session.set_folder_filter({cats})
    assert len(blocker.args[0]) == 3 and all(Path(r.path).parent == Path(cats) for r in blocker.args[0])
    session.keep_folders([cats])
    assert session.folder_filter == {cats} and changes == [frozenset({cats})]  # nothing gone, nothing said
    session.keep_folders([])
    assert session.folder_filter == frozenset() and changes[-1] == frozenset()


def test_find_similar_searches_with_the_photo_and_the_next_stroke_returns_to_the_sketch(
    qtbot, indexed_engine, sketchy_root
) -> None:
    session = SearchSession(indexed_engine, Picture(cat_sketch(sketchy_root)), page_size=24)
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
        session.sketch_changed(blank=False)
    photo_id = blocker.args[0][2].id
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
        session.find_similar(photo_id)
    assert photo_id not in [r.id for r in blocker.args[0]] and len(blocker.args[0]) == 5
    with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
        session.sketch_changed(blank=False)
    assert len(blocker.args[0]) == 6 and session.query == cat_sketch(sketchy_root)


def test_a_blank_canvas_clears_without_searching(qtbot, indexed_engine, sketchy_root) -> None:
    session = SearchSession(indexed_engine, source := Picture(cat_sketch(sketchy_root)), page_size=24)
    cleared: list[bool] = []
    session.cleared.connect(lambda: cleared.append(True))
    statuses: list[str] = []
    session.status.connect(statuses.append)
    session.sketch_changed(blank=False)
    session.sketch_changed(blank=True)
    session.search_now()
    assert cleared == [True] and statuses == ["Draw something to search"]
    assert not session.timer.isActive() and not source.asked and session.query is None and not session.has_query()


def test_without_a_model_it_waits_and_searches_when_the_model_arrives(
    qtbot, indexed_engine, tmp_path, sketchy_root, small_embedder
) -> None:
    indexed_engine.close_library()
    engine = Engine()  # the app starting again: the library opens first, the model follows
    engine.open_library(tmp_path / "library")
    try:
        session = SearchSession(engine, Picture(cat_sketch(sketchy_root)), page_size=24)
        statuses: list[str] = []
        session.status.connect(statuses.append)
        session.sketch_changed(blank=False)
        session.search_now()
        assert statuses == ["Waiting for the model…"]
        with qtbot.waitSignal(session.results_ready, timeout=WAIT_MS) as blocker:
            engine.set_embedder(small_embedder)
        assert len(blocker.args[0]) == 6
    finally:
        engine.shutdown()


def test_a_failed_search_is_a_readable_message(qtbot, indexed_engine) -> None:
    session = SearchSession(indexed_engine, Picture(Path("/no/such/sketch.png")), page_size=24)
    with qtbot.waitSignal(session.failed, timeout=WAIT_MS) as blocker:
        session.sketch_changed(blank=False)
        session.search_now()
    assert blocker.args[0].startswith("The search failed: ")
