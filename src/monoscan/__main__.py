"""``python -m monoscan``: the same as the ``monoscan`` command."""

import sys

from monoscan.cli import main

sys.exit(main())
