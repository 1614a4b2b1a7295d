"""Searching as the user draws.

- ``session`` (controller): the current query (the canvas, or a photo for "find similar"), the
  debounced search, paging, the folder filter; it fills the results model.
- ``runner``: one search at a time, the newest query wins, older results are dropped.
"""
