"""Pieces of the main window's layout, built outside it so the window stays wiring.

- ``frame``: the canvas beside the results, the library dock, the model's state in the status bar.
- ``results_pane``: the results header (count, folder filter, page size, "Show more"), the
  first-run page, the results grid and the preview.
- ``folder_button``: the "All folders" button whose menu chooses the folders to search.
- ``actions``: the window's actions (shortcuts, tips, icons), menus, toolbar and stroke width box.
- ``dialogs``: file choosers and the About box; ``download_dialog``: the ResNet50 download's progress.
"""
