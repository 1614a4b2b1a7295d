"""The results: what a search found, shown as a grid with a preview.

- ``model``: the results as a Qt list model (thumbnails as they load).
- ``view``: the grid (as many columns as fit); ``pane``: its header, the first-run page, the
  grid and the preview; ``preview``: one result larger; ``folder_button``: the folder filter.
- ``thumbnails``: thumbnails loaded on a thread pool.
- ``actions`` (controller): open a result, show it in the file manager, copy its path, search with it;
  ``file_manager``: the system's viewer and file manager.
"""
