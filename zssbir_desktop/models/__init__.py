"""The model to search with.

- ``loading`` (controller): which model (the preferences, else the library's, else the default),
  loading it in the background, downloading its weights, the ways forward when it cannot be had.
- ``download_dialog``: the download's progress dialog, with Cancel.
"""
