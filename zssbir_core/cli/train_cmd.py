"""``zssbir-cli train``: fine-tune the sketch/photo network on a folder of classes.

Settings are layered: the named ``--recipe``, then ``--config FILE`` (JSON), then flags. Ctrl-C or
SIGTERM stops after the current step and leaves a state that ``--resume`` continues (exit 130).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from zssbir_core.cli import numbers
from zssbir_core.errors import ZssbirError
from zssbir_core.models.backbone_names import BACKBONES as BACKBONE_NAMES

DEFAULT_RECIPE = "standard"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune the model on class folders of sketches and photos (or photos only)",
        description=(
            "Fine-tune with the quadruplet, semantic and knowledge preservation losses. DATA holds "
            "photo/<class>/* and sketch/<class>/* (or photos only: photo/<class>/* or <class>/*). "
            "The best model by validation mAP@all is written to OUTPUT/model."
        ),
    )
    parser.add_argument("--data", type=Path, help="dataset folder (read from OUTPUT when resuming)")
    parser.add_argument("--output", type=Path, help="folder for the run: model/, resume state, logs")
    parser.add_argument("--recipe", help=f"named recipe (default {DEFAULT_RECIPE}); see --list-recipes")
    parser.add_argument("--list-recipes", action="store_true", help="print the shipped recipes and exit")
    parser.add_argument("--config", type=Path, help="JSON file of settings overriding the recipe")
    parser.add_argument("--backbone", choices=BACKBONE_NAMES)
    parser.add_argument("--init", help="starting model: default, a built-in model (zssbir-cli doctor lists them) "
                        "or a checkpoint directory")
    parser.add_argument("--weights", help="local ImageNet weights file for the backbone (e.g. ResNet50 offline)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda[:N] or mps")
    parser.add_argument("--epochs", type=numbers.int_between(1, 100_000))
    parser.add_argument("--batch-size", type=numbers.batch_size, help="images per batch (whole classes of K photos + K sketches)")
    parser.add_argument("--image-size", type=numbers.image_size, help="input side in pixels")
    parser.add_argument(
        "--val-classes", nargs="+", metavar="CLASS",
        help="held-out seen classes for model selection: class names, or one number (picked with --seed)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run in OUTPUT")
    parser.add_argument("--seed", type=numbers.int_between(0, 2**32 - 1))
    parser.add_argument("--progress", choices=("bar", "json"), default="bar",
                        help="bar: a progress bar on stderr; json: one JSON event a line on stdout")
    parser.set_defaults(run=run)


def _flag_overrides(args: argparse.Namespace, base: Any, chosen: frozenset[str]) -> dict[str, Any]:
    """The settings the flags change. A checkpoint named by ``--init`` brings its backbone and its
    input size, unless a flag or a key of the ``--config`` file (``chosen``) sets them."""
    changes: dict[str, Any] = {}
    for flag, key in (("backbone", "backbone"), ("init", "init"), ("weights", "weights"), ("epochs", "epochs"),
                      ("image_size", "image_size"), ("seed", "seed")):
        if getattr(args, flag) is not None:
            changes[key] = getattr(args, flag)
    if args.init is not None:
        from zssbir_core.models import catalog, is_checkpoint_dir
        from zssbir_core.models.checkpoint import check_checkpoint

        builtin = catalog.builtin(args.init)
        folder = builtin.checkpoint_dir if builtin is not None else args.init
        if builtin is not None and folder is None:
            if args.backbone is None:
                changes["backbone"] = builtin.backbone
        elif folder is not None and is_checkpoint_dir(folder):
            info = check_checkpoint(folder).info  # all of it, before any work is done
            if args.backbone is None:
                changes["backbone"] = info.backbone
            if args.image_size is None and "image_size" not in chosen:
                changes["image_size"] = info.preprocessing.image_size
    if args.batch_size is not None:
        per_class = 2 * base.samples_per_domain
        changes["classes_per_batch"] = max(2, args.batch_size // per_class)
    if args.val_classes is not None:
        values = args.val_classes
        changes["val_classes"] = int(values[0]) if len(values) == 1 and values[0].isdigit() else list(values)
    return changes


def _resolve_config(args: argparse.Namespace) -> tuple[Any, Path]:
    from zssbir_core.errors import ZssbirError
    from zssbir_core.training.config import TrainConfig, load_recipe, read_config_file
    from zssbir_core.training.run_folder import CONFIG_FILE

    saved = args.output / CONFIG_FILE
    if args.resume and saved.is_file():
        try:
            record = json.loads(saved.read_text(encoding="utf-8"))
            config = TrainConfig().updated(record["config"], str(saved))
            data = args.data or Path(record["data"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
            raise ZssbirError(f"cannot resume: {saved} is not a readable training record ({error})") from error
    else:
        if args.data is None:
            raise ZssbirError("--data is required (the folder of photo/<class> and sketch/<class> images)")
        config = load_recipe(args.recipe or DEFAULT_RECIPE)
        data = args.data
    chosen = frozenset(vars(config)) if args.resume and saved.is_file() else frozenset()  # a resumed run keeps all
    if args.config is not None:
        settings = read_config_file(args.config)
        config = config.updated(settings, str(args.config))
        chosen |= frozenset(settings)
    return config.updated(_flag_overrides(args, config, chosen), "command line"), data


def run(args: argparse.Namespace) -> int:
    if args.list_recipes:
        from zssbir_core.training.config import load_recipe, recipe_names

        for name in recipe_names():
            print(f"{name:16s} {load_recipe(name).description}")
        return 0

    from zssbir_core.cpu_allocator import tune_malloc_for_training
    from zssbir_core.training.callbacks import JsonLinesProgress, TqdmProgress
    from zssbir_core.training.trainer import Trainer

    tune_malloc_for_training()
    if args.output is None:
        raise ZssbirError("--output is required (the folder that receives the trained model)")
    if args.output.exists():  # a folder of the user's is refused before its config.json is read
        from zssbir_core.training.run_folder import claim_run_folder

        claim_run_folder(args.output, resume=args.resume)
    config, data = _resolve_config(args)
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        print("zssbir-cli train: stopping after this step (Ctrl-C again to abort at once)", file=sys.stderr)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
    try:
        callback = JsonLinesProgress() if args.progress == "json" else TqdmProgress()
        trainer = Trainer(config, data, args.output, device=args.device, callbacks=[callback], stop=stop,
                          resume=args.resume)
        result = trainer.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if result.status == "interrupted":
        print(f"zssbir-cli train: interrupted; continue with: zssbir-cli train --output {args.output} --resume",
              file=sys.stderr)
        return 130
    return 0
