"""Average the weights of two trained checkpoints of one network into a third (a "model soup").

The trainer already averages a fine-tuning with the network it started from (WiSE-FT,
``finetuned_share``); this script averages two runs that each started from ImageNet, e.g. the
Lite2 run of v2's recipe with the Lite2 doodle pipeline (``docs/benchmarks/model_sweep.md``,
round 5). The result is a checkpoint folder with its checked ONNX export, ready for
``everyday_sketches.py``::

    python benchmarks/model_soup.py runs/l2v2-500/model runs/l2-ft/model --share 0.5 --output runs/soup/model

``--share`` is the first checkpoint's weight; tensors whose shapes differ (a classifier over other
classes) and integer buffers are the first checkpoint's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zssbir_core.models import load_checkpoint, save_checkpoint
from zssbir_core.models.onnx_export import export_checkpoint
from zssbir_core.training.weight_average import average_weights


def soup(first: Path, second: Path, share: float, output: Path) -> Path:
    """Write ``share`` x ``first`` + (1 - ``share``) x ``second`` to ``output`` and export its ONNX."""
    net, info = load_checkpoint(first)
    other, _ = load_checkpoint(second)
    net.load_state_dict(average_weights(net, other, share))
    training = {**info.training, "soup": {"first": str(first), "second": str(second), "share": share}}
    save_checkpoint(net, output, classes=info.classes, training=training, preprocessing=info.preprocessing)
    export_checkpoint(output)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path, help="a checkpoint folder")
    parser.add_argument("second", type=Path, help="a checkpoint folder of the same network")
    parser.add_argument("--share", type=float, default=0.5, help="the first checkpoint's weight (default 0.5)")
    parser.add_argument("--output", type=Path, required=True, help="the checkpoint folder to write")
    args = parser.parse_args()
    print(f"wrote {soup(args.first, args.second, args.share, args.output)}")


if __name__ == "__main__":
    main()
