"""Icons of the zssbir app; installed as ``zssbir_desktop.resources`` (see setup.py).

Look files up with ``zssbir_desktop.resources_path.resource_file(name)``.
"""
