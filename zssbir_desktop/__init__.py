"""zssbir's desktop app (PySide6): draw a sketch, see matching photos from your folders.

Only windows, widgets, Qt models and workers live here; all retrieval, indexing and model code
is in ``zssbir_core``, which the app reaches only through ``zssbir_core.api`` (and ``errors``,
``paths``): import-linter contracts in ``pyproject.toml`` keep it so.

One folder a feature, each with its widgets (views), its Qt models and its controller (a QObject
that holds the behaviour, testable without a window; controllers never import widgets):

- ``canvas``: the sketch canvas (strokes, undo) and the query input (files, clipboard, drops).
- ``search``: the search session (debounced query, pages, folder filter) and the newest-wins runner.
- ``results``: the results model, grid, pane, preview, thumbnails and the actions on a result.
- ``library``: the library panel and its controller (folders, indexing, progress).
- ``models``: which model to search with, loading it, downloading its weights.
- ``settings``: the preferences store and the settings dialog.
- ``finetune``: the Settings -> Fine-tuning page, the training child process.
- ``window``: the main window, which only assembles the features (frame, actions, menus, dialogs).

At the top: ``app`` (the ``zssbir`` entry point), ``engine`` (the open library and the loaded
model, the background work on them), ``workers`` (thread-pool tasks), ``error_log``, ``theme``,
``resources_path``.
"""
