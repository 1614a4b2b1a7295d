"""``python -m zssbir_core`` is ``zssbir-cli``."""

import sys

from zssbir_core.cli import main

sys.exit(main())
