"""The main window's behaviour, one job per controller; each is a QObject that the window wires to
its widgets with signals, so each can be tested without a window.

- ``search_session``: the current query, the debounced search, paging, the folder filter, results.
- ``model_loading``: which model, loading it in the background, the ResNet50 download, the fallbacks.
- ``library_control``: open, add, remove, re-scan; when to index on its own; progress and folders.
- ``query_input``: a picture as the query (file, clipboard, drop) and saving the sketch.
- ``result_actions``: open a result, show it in the file manager, copy its path, search with it.
"""
