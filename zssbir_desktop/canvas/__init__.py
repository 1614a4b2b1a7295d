"""The sketch canvas and what puts a query on it.

- ``sketch_canvas``: vector strokes with undo/redo, rendered on screen and at 256 px for the model.
- ``query_input`` (controller): a picture as the query (file, clipboard, drop) and saving the sketch.
- ``imageconv``: Qt images to PIL images and back.
"""
