"""zssbir core: zero-shot sketch-based image retrieval, free of Qt.

The engine (model, losses, trainer, evaluation) and the photo library (index, search) live here;
the desktop app in ``zssbir_desktop`` only drives them.
"""

__version__ = "0.1.0"
