"""Weight averaging of a fine-tuned network with the one it started from (WiSE-FT: Wortsman et al.,
"Robust fine-tuning of zero-shot models", CVPR 2022).

Fine-tuning the default model on doodles lifts doodles and costs some of what it knew about
Sketchy-style sketches; the average of the two networks' weights keeps most of both
(``docs/benchmarks/model_sweep.md``, issue 18). Both networks must share the architecture, as a
fine-tuning and its ``init`` do; tensors whose shapes differ (a classifier over other classes) and
integer buffers are the fine-tuned network's.
"""

from __future__ import annotations

import torch

from zssbir_core.errors import ModelLoadError
from zssbir_core.models.network import ZSSBIRNet


def average_weights(finetuned: ZSSBIRNet, init: ZSSBIRNet, finetuned_share: float) -> dict[str, torch.Tensor]:
    """The state dict of ``finetuned_share`` x ``finetuned`` + (1 - share) x ``init``, in the fine-tuned
    network's dtypes; ``ModelLoadError`` when a parameter of ``finetuned`` is missing from ``init``."""
    if not 0.0 <= finetuned_share <= 1.0:
        raise ValueError(f"finetuned_share must be from 0 to 1, not {finetuned_share}")
    theirs = init.state_dict()
    averaged = {}
    for name, tensor in finetuned.state_dict().items():
        if name not in theirs:
            raise ModelLoadError(f"the init model has no {name}: it is not the network this one was fine-tuned from")
        other = theirs[name]
        if tensor.is_floating_point() and other.shape == tensor.shape:
            mixed = finetuned_share * tensor.float() + (1.0 - finetuned_share) * other.to(tensor.device).float()
            averaged[name] = mixed.to(tensor.dtype)
        else:
            averaged[name] = tensor.clone()
    return averaged
