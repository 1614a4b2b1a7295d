"""The photo library's folders and indexing.

- ``panel``: the library dock (folders, progress, Cancel, skipped files).
- ``control`` (controller): open, add, remove, re-scan; when to index on its own; progress.
"""
