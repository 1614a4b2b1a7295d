"""Train a model that ships inside zssbir, and package it.

    python scripts/train_default_model.py --data ../shared/data/sketchy-all100 --work /tmp/default-model

1. ``zssbir-cli train --recipe default-model`` on every class of DATA (Sketchy's 100 seen classes;
   the usual 25 zero-shot test classes are not in it), on the CPU unless ``--device`` says otherwise;
2. the checkpoint's weights are stored in float16 (half the size; embeddings change by less than
   1e-3 cosine, checked here) and written to ``zssbir_core/models/packaged/<NAME>/``;
3. the sha256 of the packaged weights and model.json are printed for ``docs/model-card.md``.

The defaults reproduce ``sketch-lite1-v2`` (the recipe ``default-model``); ``sketch-lite1-v3`` is
``--recipe everyday-finetune --doodles ../shared/data/quickdraw-seen --name sketch-lite1-v3`` (a
fine-tuning of v2). The default model, ``sketch-lite2-v4``, is both recipes on Lite2 at 260 px, the
first with ``--train-only``, the second from it with ``--finetuned-share 0.25``
(``docs/model-card.md`` has the commands). ``--exclude-classes FILE`` trains the held-out variant
of a recipe instead (nothing is packaged then; a fine-tuning recipe needs ``--init`` of the held-out
variant it starts from). ``--recipe``, ``--doodles``, ``--init``, ``--backbone``, ``--image-size``,
``--finetuned-share`` and ``--name`` train and package other recipes and networks under other ids
(``docs/benchmarks/model_sweep.md``); ``--package CHECKPOINT`` packages a model trained otherwise
(a soup of ``benchmarks/model_soup.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from train_child import train_in_child  # noqa: E402  (benchmarks/train_child.py)

RECIPE = "default-model"
NAME = "sketch-lite1-v2"
"""The id that ``RECIPE`` packages as: the defaults never overwrite another recipe's model."""


def train(data: Path, output: Path, device: str, exclude: list[str], recipe: str, doodles: Path | None,
          init: str | None, overrides: dict[str, str | int | float]) -> float:
    """Run ``recipe`` in a child process (resuming an interrupted run); return its wall time.
    ``overrides`` replace the recipe's ``backbone``, ``image_size`` or ``finetuned_share``."""
    settings: dict = {"exclude_classes": exclude, **overrides}
    if doodles is not None:
        settings["doodles"] = str(doodles.resolve())
    if init is not None:
        settings["init"] = init
    return train_in_child(data, output, recipe=recipe, settings=settings, device=device, echo=True).wall_s


def package(checkpoint: Path, destination: Path) -> None:
    """Write ``checkpoint`` with float16 weights to ``destination`` and check its embeddings."""
    import torch

    from zssbir_core.models import load_checkpoint, save_checkpoint

    net, info = load_checkpoint(checkpoint)
    size = info.preprocessing.image_size
    reference = net.encode(torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0))).detach()
    meta = json.loads((checkpoint / "model.json").read_text())
    save_checkpoint(net.half(), destination, classes=info.classes, training=info.training, metrics=info.metrics,
                    preprocessing=info.preprocessing)
    packaged, _ = load_checkpoint(destination)
    again = packaged.float().encode(torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0))).detach()
    cosine = torch.nn.functional.cosine_similarity(reference, again).min().item()
    if cosine < 0.999:
        raise SystemExit(f"float16 weights change the embeddings too much (cosine {cosine:.5f})")
    print(f"packaged {destination} (float16; min cosine to float32 {cosine:.6f}; "
          f"trained {meta.get('training', {}).get('step')} steps)")


def package_as(checkpoint: Path, name: str) -> None:
    """Package ``checkpoint`` as the built-in model ``name`` and print the hashes for the model card."""
    destination = REPO / "zssbir_core" / "models" / "packaged" / name
    package(checkpoint, destination)
    for file in ("model.safetensors", "model.json"):
        digest = hashlib.sha256((destination / file).read_bytes()).hexdigest()
        print(f"sha256 {file}: {digest}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "sketchy-all100")
    parser.add_argument("--work", type=Path, default=Path("/tmp/zssbir-default-model"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--exclude-classes", type=Path, help="a text file of classes to hold out (no packaging)")
    parser.add_argument("--name", default=NAME, help=f"the packaged model's id (default {NAME})")
    parser.add_argument("--init", help="the model a fine-tuning recipe starts from, instead of the recipe's")
    parser.add_argument("--recipe", default=RECIPE, help=f"the training recipe (default {RECIPE})")
    parser.add_argument("--doodles", type=Path,
                        help="a Quick, Draw! folder (e.g. ../shared/data/quickdraw-seen) whose doodles of the "
                             "training classes join the sketches (recipes everyday-lite1, everyday-finetune)")
    parser.add_argument("--backbone", help="the network, instead of the recipe's (e.g. efficientnet_lite2)")
    parser.add_argument("--image-size", type=int, help="the input size, instead of the recipe's (e.g. 260 for Lite2)")
    parser.add_argument("--finetuned-share", type=float,
                        help="a fine-tuning's share of the saved weights, instead of the recipe's (the rest: --init's)")
    parser.add_argument("--train-only", action="store_true",
                        help="train in WORK/all-classes without packaging (a model that a fine-tuning starts from)")
    parser.add_argument("--package", type=Path, metavar="CHECKPOINT",
                        help="package this trained checkpoint folder as --name instead of training")
    args = parser.parse_args()
    if args.package is not None:
        package_as(args.package, args.name)
        return 0
    overrides = {key: value for key, value in (("backbone", args.backbone), ("image_size", args.image_size),
                                               ("finetuned_share", args.finetuned_share)) if value is not None}
    os.environ.setdefault("ZSSBIR_DATA_DIR", str(args.work / "zssbir-data"))
    exclude = args.exclude_classes.read_text().split() if args.exclude_classes else []
    run = args.work / ("heldout-variant" if exclude else "all-classes")
    wall = train(args.data, run, args.device, exclude, args.recipe, args.doodles, args.init, overrides)
    print(f"training command wall time: {wall / 60:.1f} min", flush=True)
    if not exclude and not args.train_only:
        package_as(run / "model", args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
