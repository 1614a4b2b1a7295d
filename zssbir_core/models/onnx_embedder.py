"""An ``Embedder`` that runs a checkpoint's ONNX export with ONNX Runtime: numpy, Pillow and
onnxruntime only, no torch (the default install).

The session runs the network's unnormalised encoder; vectors are L2-normalised here exactly as the
PyTorch path does. On the CPU the session does not busy-wait between calls (the indexer's decode
threads need those cores) and runs :data:`CPU_MICRO_BATCH` images at a time from ONNX Runtime's
memory arena, which keeps each run's activations for the next one (the network a third faster than
with plain malloc, ``docs/benchmarks/cpu.md``); once embedding has been idle for
``cpu_allocator.IDLE_TRIM_S`` seconds the arena is shrunk, so the app at rest holds none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zssbir_core.cpu_allocator import trim_when_idle
from zssbir_core.errors import ZssbirError
from zssbir_core.models.embedder import Embedder, l2_normalize
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.models.runtime_choice import RuntimeChoice

CPU_MICRO_BATCH = 16
"""Images per ONNX Runtime run on the CPU: the default model's fastest batch on 2 cores, for about
400 MB of arena while embedding (``benchmarks/slim_runtime.py``)."""


def make_session(model: bytes, choice: RuntimeChoice) -> Any:
    """An ONNX Runtime session of ``model`` on ``choice``'s providers; ``ZssbirError`` when the
    first provider asked for could not be used (a GPU provider without its GPU libraries)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # a provider that fails to load is reported below, in one line
    try:
        session = onnxruntime.InferenceSession(model, options, providers=list(choice.providers),
                                               provider_options=choice.provider_options)
    except Exception as error:
        raise ZssbirError(f"ONNX Runtime cannot run this model on {choice.device}: {str(error).splitlines()[0]}") from error
    if session.get_providers()[0] != choice.providers[0]:
        raise ZssbirError(f"--device {choice.device}: ONNX Runtime could not start {choice.providers[0]} here "
                          "(missing GPU libraries?); use --device cpu")
    return session


@dataclass
class OnnxEmbedder(Embedder):
    """A model's ONNX export in an ONNX Runtime session (``make_session``)."""

    session: Any
    preprocessing: Preprocessing
    model_id: str
    name: str
    dim: int
    device: str = "cpu"
    flip_average: bool = False

    @property
    def embedding_dim(self) -> int:
        return self.dim

    @property
    def runtime(self) -> str:
        import onnxruntime

        return f"onnxruntime {onnxruntime.__version__} {self.session.get_providers()[0]}"

    def _encode(self, batch: np.ndarray) -> np.ndarray:
        try:
            return l2_normalize(self.session.run(None, {"x": batch})[0])
        except Exception as error:  # onnxruntime's own types: one failed batch, as torch's RuntimeError
            raise RuntimeError(f"ONNX Runtime: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from error

    def embed_tensors(self, batch: Any) -> np.ndarray:
        batch = np.ascontiguousarray(np.asarray(batch, dtype=np.float32))
        step = CPU_MICRO_BATCH if self.device == "cpu" else max(len(batch), 1)
        if len(batch) <= step:
            vectors = self._embed_run(batch)
        else:
            vectors = np.concatenate([self._embed_run(batch[i : i + step]) for i in range(0, len(batch), step)])
        if self.device == "cpu":
            trim_when_idle(self._release_arena)
        return vectors

    def _embed_run(self, batch: np.ndarray) -> np.ndarray:
        vectors = self._encode(batch)
        if self.flip_average:
            vectors = l2_normalize(vectors + self._encode(np.ascontiguousarray(batch[..., ::-1])))
        return vectors

    def _release_arena(self) -> None:
        """One image through the network with arena shrinkage on: ONNX Runtime then frees every
        arena chunk that run did not use (a few MB are kept)."""
        import onnxruntime

        options = onnxruntime.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        side = self.preprocessing.image_size
        self.session.run(None, {"x": np.zeros((1, 3, side, side), dtype=np.float32)}, options)
