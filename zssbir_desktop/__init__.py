"""zssbir's desktop app (PySide6): draw a sketch, see matching photos from your folders.

Only windows, widgets, Qt models and workers live here; all retrieval, indexing and model code
is in ``zssbir_core``.
"""
