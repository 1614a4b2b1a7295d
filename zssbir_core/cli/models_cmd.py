"""``zssbir-cli models``: the trained models the app lists (``zssbir_core.models.store``): list,
import, export and remove them from scripts. A model is named by its key, its model id or its name."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from zssbir_core.cli.index_cmd import add_library_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, import, export or remove your trained models (the app's model list)",
        description="Manage the trained models that the app and zssbir-cli share.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the trained models")
    listing.add_argument("--json", action="store_true", help="print one JSON object a model and line")
    importing = actions.add_parser("import", help="copy a checkpoint folder into the models (checked first)")
    importing.add_argument("folder", type=Path, help="checkpoint folder (model.json + model.safetensors)")
    importing.add_argument("--name", help="display name (default: the folder's name)")
    exporting = actions.add_parser("export", help="copy a model's checkpoint to a new folder")
    exporting.add_argument("model", help="key, model id or name")
    exporting.add_argument("destination", type=Path, help="new folder to create")
    removing = actions.add_parser("remove", help="delete a trained model (not the one a library uses)")
    removing.add_argument("model", help="key, model id or name")
    add_library_arguments(removing)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zssbir_core.models.store import ModelStore
    from zssbir_core.paths import display_path

    store = ModelStore()
    if args.action == "list":
        for model in store.list():
            row = {"key": model.key, "name": model.name, "model_id": model.model_id, "backbone": model.backbone,
                   "created": model.created, "data_folder": model.data_folder,
                   "checkpoint": display_path(model.checkpoint_dir)}
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(f"{model.key}  {model.model_id}  {model.created[:16].replace('T', ' ')}  {model.name}")
        return 0
    if args.action == "import":
        model = store.import_checkpoint(args.folder, name=args.name)
        print(f"imported {model.name!r} as {model.key} (model id {model.model_id})")
        return 0
    model = find_model(store, args.model)
    if args.action == "export":
        print(f"exported {model.name!r} to {display_path(store.export(model.key, args.destination))}")
        return 0
    store.delete(model.key, in_use=_library_model(args.library))
    print(f"removed {model.name!r} ({model.key})")
    return 0


def find_model(store: Any, name: str) -> Any:
    """The stored model whose key, model id or display name is ``name``; ModelStoreError if none or several."""
    from zssbir_core.models.store import ModelStoreError

    found = store.find(name)
    if found is not None:
        return found
    named = [model for model in store.list() if model.name == name]
    if len(named) == 1:
        return named[0]
    if named:
        raise ModelStoreError(f"{len(named)} models are named {name!r}; give the key (zssbir-cli models list)")
    raise ModelStoreError(f"no trained model {name!r}; zssbir-cli models list shows them")


def _library_model(directory: Path | None) -> str | None:
    """The model id (without ``@size``) the library is indexed with, if the library exists."""
    from zssbir_core.errors import LibraryError
    from zssbir_core.library import PhotoLibrary

    try:
        with PhotoLibrary.open(directory, create=False) as library:
            return None if library.model_id is None else library.model_id.partition("@")[0]
    except LibraryError:
        return None
