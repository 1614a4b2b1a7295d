"""``python -m zssbir_desktop`` is ``zssbir``."""

import sys

from zssbir_desktop.app import main

sys.exit(main())
