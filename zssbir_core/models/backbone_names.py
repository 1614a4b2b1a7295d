"""The names of the CNN trunks ``build_backbone`` makes, without importing torch.

The catalog, the model.json schema and the CLI check names against them. They sit below the
catalog so that the modules the catalog reaches (checkpoints, backbones) never import it back.
"""

from __future__ import annotations

BACKBONES = ("resnet50", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
