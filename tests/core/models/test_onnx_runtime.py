"""The optional ONNX Runtime path: used when the extra is installed, same embeddings as PyTorch,
and PyTorch when it is missing (checked in a child interpreter that cannot import it)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from zssbir_core.models import load_model
from zssbir_core.models.onnx_runtime import RUNTIME_VARIABLE, onnx_runtime_available

needs_extra = pytest.mark.skipif(not onnx_runtime_available(), reason="the onnx extra is not installed")


@pytest.fixture()
def photos(sketchy_root) -> list[Image.Image]:
    return [Image.open(f).convert("RGB") for f in sorted((sketchy_root / "photo").glob("*/*.jpg"))[::10][:7]]


@pytest.mark.slow
@needs_extra
def test_onnx_runtime_embeds_real_photos_as_pytorch(tmp_path, monkeypatch, photos):
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path))
    fast = load_model("lite0-imagenet")
    assert fast.onnx is not None
    assert list((tmp_path / "cache" / "onnx").glob("*.onnx"))  # exported once, reused next time
    monkeypatch.setenv(RUNTIME_VARIABLE, "torch")
    plain = load_model("lite0-imagenet")
    assert plain.onnx is None
    a, b = fast.embed_images(photos), plain.embed_images(photos)
    assert 1 - (a * b).sum(1).min() < 1e-4
    # another input size than the exported one goes through PyTorch
    small = fast.preprocessing.with_size(160).transform()
    batch = np.stack([small(p).numpy() for p in photos[:2]])
    import torch

    assert np.allclose(fast.embed_tensors(torch.from_numpy(batch)), plain.embed_tensors(torch.from_numpy(batch)),
                       atol=1e-5)


@pytest.mark.slow
@pytest.mark.subprocess
def test_without_the_extra_inference_stays_in_pytorch(tmp_path, sketchy_root):
    # onnxruntime made unimportable, as on an installation without the extra
    code = (
        "import sys; sys.modules['onnxruntime'] = None; sys.modules['onnx'] = None\n"
        "from zssbir_core.models import load_model\n"
        "from PIL import Image\n"
        f"e = load_model('lite0-imagenet'); assert e.onnx is None\n"
        f"v = e.embed_images([Image.open({str(next((sketchy_root / 'photo').glob('*/*.jpg')))!r})])\n"
        "print(v.shape)\n"
    )
    env = {**os.environ, "ZSSBIR_DATA_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 1280)"
