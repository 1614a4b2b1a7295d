"""Training events: each kind survives the JSON round trip in the format zssbir has always
written, and a line that is not an event is refused with a message that says why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zssbir_core.errors import ZssbirError
from zssbir_core.training import run_folder
from zssbir_core.training.events import (
    EVENT_TYPES,
    EndEvent,
    EventFormatError,
    Losses,
    StartEvent,
    StepEvent,
    TeacherEvent,
    ValidationEvent,
    parse_event,
)

METRICS = {"map_all": 0.5, "map_200": 0.25, "p_100": 0.125, "p_200": 1.0, "p_10": 0.0}
EVENTS = [
    TeacherEvent(done=64, total=100),
    StartEvent(total_steps=12, epochs=3, steps_per_epoch=4, train_classes=5, val_classes=["bar", "cross"],
               device="cpu", precision="fp32", world_size=1, resumed_from_step=0),
    StepEvent(step=3, epoch=1, losses=Losses(1.5, 0.25, 1.0, 0.25), lr=0.0001, images_per_s=12.5, eta_s=30.0,
              metric=None),
    ValidationEvent(epoch=1, step=4, metrics=METRICS, best=True),
    EndEvent(status="completed", checkpoint="/runs/a/model", best_metrics=METRICS, best_epoch=1, steps=12,
             wall_s=61.5, train_s=58.25),
]
# Lines as the trainer printed them before the events were typed (zssbir 9dd19ae).
OLD_LINES = [
    '{"event":"teacher","done":64,"total":100}',
    '{"event":"start","total_steps":4,"epochs":2,"steps_per_epoch":2,"train_classes":2,"val_classes":["bar","cross"],'
    '"device":"cpu","precision":"fp32","world_size":1,"resumed_from_step":0}',
    '{"event":"step","step":1,"epoch":1,"losses":{"total":1.7328,"quadruplet":0.6931,"semantic":0.7,"knowledge":0.3397},'
    '"lr":0.0001,"images_per_s":17.9,"eta_s":0.52,"metric":null}',
    '{"event":"validation","epoch":1,"step":2,"metrics":{"map_all":1.0,"map_200":1.0,"p_100":0.5,"p_200":0.25,'
    '"p_10":1.0},"best":true}',
    '{"event":"end","status":"interrupted","checkpoint":null,"best_metrics":{},"best_epoch":null,"steps":1,'
    '"wall_s":3.1,"train_s":0.2}',
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_every_kind_round_trips(event) -> None:
    line = event.to_json()
    assert "\n" not in line and " " not in line.replace("/runs/a/model", ""), "compact: one line"
    assert parse_event(line) == event
    assert parse_event(event.to_json(compact=False)) == event
    assert list(json.loads(line)) == ["event", *(f for f in event.to_dict() if f != "event")]
    assert json.loads(line)["event"] == event.kind


def test_every_kind_is_known_and_the_format_is_the_old_one() -> None:
    assert sorted(EVENT_TYPES) == ["end", "start", "step", "teacher", "validation"]
    for line in OLD_LINES:
        event = parse_event(line)
        assert event.to_json() == line, "written again exactly as the trainer always wrote it"
    step = parse_event(OLD_LINES[2])
    assert isinstance(step, StepEvent) and step.losses.total == 1.7328 and step.metric is None


def test_integers_count_as_floats_and_newer_keys_are_ignored() -> None:
    line = '{"event":"step","step":1,"epoch":1,"losses":{"total":2,"quadruplet":1,"semantic":1,"knowledge":0},' \
           '"lr":1,"images_per_s":5,"eta_s":0,"metric":1,"added_later":[1,2]}'
    event = parse_event(line)
    assert isinstance(event.lr, float) and event.losses.total == 2.0 and event.metric == 1.0


@pytest.mark.parametrize("line, message", [
    ("", "not JSON"),
    ("epoch 1: validation mAP@all 0.5", "not JSON"),
    ('{"event": "step"', "not JSON"),
    ("[1, 2]", 'no "event" key'),
    ('{"step": 3}', 'no "event" key'),
    ('{"event": "restart"}', "unknown training event 'restart'"),
    ('{"event": 7}', "unknown training event 7"),
    ('{"event": "teacher", "done": 1}', "teacher event: the field 'total' is missing"),
    ('{"event": "teacher", "done": 1, "total": "100"}', "teacher event, field 'total': expected int, got \"100\""),
    ('{"event": "teacher", "done": true, "total": 100}', "field 'done': expected int, got true"),
    ('{"event": "validation", "epoch": 1, "step": 2, "metrics": {"map_all": "high"}, "best": true}',
     "field 'metrics': expected float"),
    ('{"event": "validation", "epoch": 1, "step": 2, "metrics": [], "best": 1}', "field 'metrics': expected"),
    ('{"event": "step", "step": 1, "epoch": 1, "losses": {"total": 1}, "lr": 1, "images_per_s": 1, "eta_s": 1,'
     ' "metric": null}', "step event, field 'losses': the field 'quadruplet' is missing"),
    ('{"event": "start", "total_steps": 4, "epochs": 2, "steps_per_epoch": 2, "train_classes": 2,'
     ' "val_classes": ["a", 3], "device": "cpu", "precision": "fp32", "world_size": 1, "resumed_from_step": 0}',
     "field 'val_classes': expected str, got 3"),
    ('{"event": "end", "status": "completed", "checkpoint": 5, "best_metrics": {}, "best_epoch": null,'
     ' "steps": 1, "wall_s": 1, "train_s": 1}', "field 'checkpoint': expected str, got 5"),
])
def test_malformed_lines_are_refused_with_the_reason(line: str, message: str) -> None:
    with pytest.raises(EventFormatError, match=re.escape(message)) as raised:
        parse_event(line)
    assert isinstance(raised.value, ZssbirError) and isinstance(raised.value, ValueError)


def test_the_records_of_a_run_folder(tmp_path: Path) -> None:
    end, validation = EVENTS[4], EVENTS[3]
    run_folder.write_summary(tmp_path, end)
    assert json.loads((tmp_path / run_folder.SUMMARY_FILE).read_text()) == {
        k: v for k, v in end.to_dict().items() if k != "event"}
    assert run_folder.read_summary(tmp_path) == end
    run_folder.append_history(tmp_path, validation)
    run_folder.append_history(tmp_path, validation)
    lines = (tmp_path / run_folder.HISTORY_FILE).read_text().splitlines()
    assert lines == [json.dumps(validation.to_dict())] * 2, "history.jsonl keeps json.dumps's spacing"

    (tmp_path / run_folder.SUMMARY_FILE).write_text('{"status": "completed"}')
    with pytest.raises(ZssbirError, match="summary.json is not a training summary .*'checkpoint' is missing"):
        run_folder.read_summary(tmp_path)
    (tmp_path / run_folder.SUMMARY_FILE).write_text("{")
    with pytest.raises(ZssbirError, match="cannot read .*summary.json"):
        run_folder.read_summary(tmp_path)
