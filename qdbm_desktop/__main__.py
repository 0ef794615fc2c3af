"""``python -m qdbm_desktop`` starts the desktop app."""

import sys

from qdbm_desktop.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
