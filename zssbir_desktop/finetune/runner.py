"""The training child process: ``python -m zssbir_core train ... --progress json`` in a ``QProcess``.

A crash, an out-of-memory kill or a hang of the trainer cannot take the app down: the app only
reads the child's JSON lines, each parsed into a typed training event (``zssbir_core.api.parse_event``).
``cancel()`` sends SIGTERM (the trainer stops after its current step
and saves its state) and kills the child if it is still alive ``kill_after_ms`` later, so Cancel
takes effect within seconds whatever the child is doing.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from zssbir_core.api import EndEvent, EventFormatError, StartEvent, StepEvent, parse_event, training_command

COMPLETED, CANCELLED, FAILED, CRASHED = "completed", "cancelled", "failed", "crashed"


@dataclass
class TrainingOutcome:
    """How a child run ended; ``checkpoint`` is set only when it completed with a model."""

    status: str
    message: str = ""
    checkpoint: Path | None = None
    end_event: EndEvent | None = None
    step_times: list[float] = field(default_factory=list)
    """Monotonic arrival times of the ``step`` events (for the warm-up's estimate)."""
    startup_s: float = 0.0
    """Seconds from launching the child to its ``start`` event."""


class TrainingRunner(QObject):
    """Runs one ``zssbir-cli train`` child at a time and reports its events.

    ``started`` carries the child's pid, ``event`` each event (a ``TrainingEvent`` subclass),
    ``finished`` a ``TrainingOutcome``.
    Lines on stdout that are not events and everything on stderr are kept (the last lines explain
    a failure) and sent through ``log_line``; a line that looks like an event but is malformed
    is sent with the reason.
    """

    started = Signal(int)  # the child's process id
    training_event = Signal(object)  # a TrainingEvent (not "event": that is QObject.event())
    log_line = Signal(str)
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None, *, kill_after_ms: int = 4000) -> None:
        super().__init__(parent)
        self.kill_after_ms = kill_after_ms
        self._process: QProcess | None = None
        self._cancelled = False
        self._end_event: EndEvent | None = None
        self._stdout_buffer = b""
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._step_times: list[float] = []
        self._launched_at = 0.0
        self._startup_s = 0.0
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    # -- control ---------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._process is not None

    def start(self, train_args: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        """Start ``python -m zssbir_core train <train_args> --progress json``."""
        if self._process is not None:
            raise RuntimeError("a training run is already going on")
        self._cancelled = False
        self._end_event = None
        self._stdout_buffer = b""
        self._stderr_tail.clear()
        self._step_times = []
        self._startup_s = 0.0
        process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        for key, value in (env or {}).items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        program, arguments = training_command(train_args)
        process.setProgram(program)
        process.setArguments(arguments)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        process.started.connect(lambda: self.started.emit(self.pid()))
        self._process = process
        self._launched_at = time.monotonic()
        process.start()

    def cancel(self) -> None:
        """Stop the child: SIGTERM now, SIGKILL after ``kill_after_ms`` if it is still running."""
        if self._process is None:
            return
        self._cancelled = True
        self._process.terminate()
        self._kill_timer.start(self.kill_after_ms)

    def wait(self, msecs: int) -> bool:
        """Block until the child has ended (tests, app shutdown); True if it did in time."""
        if self._process is None:
            return True
        return self._process.waitForFinished(msecs)

    def pid(self) -> int:
        """The child's process id (0 when none runs)."""
        return int(self._process.processId()) if self._process is not None else 0

    # -- reading -----------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        if self._process is None:
            return
        self._stdout_buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._stdout_buffer = self._stdout_buffer.split(b"\n")
        for raw in lines:
            self._handle_line(raw.decode("utf-8", errors="replace").strip())

    def _handle_line(self, line: str) -> None:
        if not line:
            return
        try:
            event = parse_event(line)
        except EventFormatError as error:
            message = f"{line} (ignored: {error})" if line.startswith("{") else line
            self._stderr_tail.append(message)
            self.log_line.emit(message)
            return
        if isinstance(event, StartEvent):
            self._startup_s = time.monotonic() - self._launched_at
        elif isinstance(event, StepEvent):
            self._step_times.append(time.monotonic())
        elif isinstance(event, EndEvent):
            self._end_event = event
        self.training_event.emit(event)

    def _read_stderr(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr_tail.append(line.strip())
                self.log_line.emit(line.rstrip())

    # -- ending ------------------------------------------------------------------------------

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            self._stderr_tail.append(f"could not start {sys.executable}: {self._process.errorString()}")
            self._finish(QProcess.ExitStatus.CrashExit, -1)

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        if self._stdout_buffer.strip():
            self._handle_line(self._stdout_buffer.decode("utf-8", errors="replace").strip())
            self._stdout_buffer = b""
        self._finish(exit_status, exit_code)

    def _finish(self, exit_status: QProcess.ExitStatus, exit_code: int) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._kill_timer.stop()
        outcome = self._outcome(exit_status, exit_code)
        process.deleteLater()
        self.finished.emit(outcome)

    def _outcome(self, exit_status: QProcess.ExitStatus, exit_code: int) -> TrainingOutcome:
        last = self._stderr_tail[-1] if self._stderr_tail else ""
        def outcome(status: str, message: str, checkpoint: Path | None = None) -> TrainingOutcome:
            return TrainingOutcome(status, message, checkpoint, self._end_event, list(self._step_times), self._startup_s)

        if self._cancelled:
            return outcome(CANCELLED, "Training was cancelled; nothing was changed.")
        if exit_status == QProcess.ExitStatus.CrashExit:
            return outcome(
                CRASHED,
                "The training process stopped unexpectedly (it was killed or crashed, perhaps out of memory); "
                "nothing was changed." + (f" Last message: {last}" if last else ""),
            )
        end = self._end_event
        if exit_code == 0 and end is not None and end.status == COMPLETED and end.checkpoint:
            return outcome(COMPLETED, "Training finished.", checkpoint=Path(end.checkpoint))
        return outcome(FAILED, f"Training failed (exit code {exit_code}): {last or 'no message'}; nothing was changed.")

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
