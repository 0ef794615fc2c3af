"""``python -m qdbm_desktop.cli``: the ``qdbm`` command."""

import sys

from qdbm_desktop.cli import main

sys.exit(main())
