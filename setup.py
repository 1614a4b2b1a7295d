"""The one build setting pyproject.toml cannot express: ship ``resources/`` inside the app.

The icons live in ``resources/`` at the repository root, but a top-level package named
``resources`` would collide with other projects in site-packages. They are installed as the
package ``zssbir_desktop.resources`` instead (wheel, editable install and PyInstaller bundle
alike); everything else about the build is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(
            include=["zssbir_core", "zssbir_core.*", "zssbir_desktop", "zssbir_desktop.*"],
            exclude=["*.__pycache__", "zssbir_core.models.packaged", "zssbir_core.models.packaged.*"],
        ),
        "zssbir_desktop.resources",
    ],
    package_dir={"zssbir_desktop.resources": "resources"},
)
