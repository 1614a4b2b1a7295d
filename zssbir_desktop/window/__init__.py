"""The main window, which assembles the features and wires them together.

- ``main_window``: the window: builds the features, connects their signals, its actions.
- ``frame``: the canvas beside the results, the library dock, the model's state in the status bar.
- ``actions``: making actions (shortcuts, tips, icons), the menus, the toolbar, the stroke width box.
- ``dialogs``: file choosers and the About box; ``message_bar``: messages with ways forward.
"""
