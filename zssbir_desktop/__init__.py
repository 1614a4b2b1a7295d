"""zssbir's desktop app (PySide6): draw a sketch, see matching photos from your folders.

Only windows, widgets, Qt models and workers live here; all retrieval, indexing and model code
is in ``zssbir_core``, which the app reaches only through ``zssbir_core.api`` (and ``errors``,
``paths``): an import-linter contract in ``pyproject.toml`` keeps it so.

- ``app``: the ``zssbir`` entry point (window first, model in the background).
- ``main_window``: the window, wiring the controllers to the widgets.
- ``controllers``: the window's behaviour, testable without it (search session, model loading,
  library control, query input, result actions); ``views``: pieces of the window's layout.
- ``engine``: the open library and the loaded model, with indexing and searches on workers.
- ``workers`` / ``search_runner``: thread-pool tasks with cancel flags; newest-query-wins search.
- ``canvas``: vector strokes with undo/redo, rendered crisply on screen and at 256 px for the model.
- ``results_model`` / ``results_view`` / ``thumbnails`` / ``preview``: the results grid.
- ``library_panel``, ``settings`` / ``settings_dialog``, ``message_bar``, ``theme``, ``error_log``.
- ``finetune``: the Settings -> Fine-tuning page (its own sub-package).
"""
