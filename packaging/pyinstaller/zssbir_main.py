"""The bundle's ``zssbir`` program: the desktop app, or the command line when run as a module.

The app runs fine-tuning as ``sys.executable -m zssbir_core train ...``; inside a bundle
``sys.executable`` is this program, so ``zssbir -m zssbir_core ARGS`` runs ``zssbir-cli ARGS``
(the bundle's ``zssbir-cli`` wrapper does exactly that).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # DataLoader workers under the spawn start method
    if sys.argv[1:3] == ["-m", "zssbir_core"]:
        from zssbir_core.cli import main as cli_main

        sys.exit(cli_main(sys.argv[3:]))
    from zssbir_desktop.app import main

    sys.exit(main())
