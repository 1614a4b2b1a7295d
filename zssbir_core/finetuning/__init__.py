"""Fine-tuning on the user's own data: checking the folder, holding out images for honest figures,
estimating the time a recipe takes on this machine, and comparing models on the held-out images.

The training itself is ``zssbir_core.training`` (``zssbir-cli train``); the trained models are kept
by ``zssbir_core.models.store``. The desktop app's Fine-tuning page drives these functions.
"""
