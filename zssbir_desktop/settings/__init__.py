"""The app's preferences.

- ``preferences``: the ``Preferences`` record, QSettings storage, and the ``PreferencesStore``
  every part reads them from and changes them through (its ``changed`` signal).
- ``dialog``: the settings dialog (General, Library, Model; extra pages such as Fine-tuning).
"""
