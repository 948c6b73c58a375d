"""``python -m monoscan``: the same as the ``monoscan`` command."""

import sys

from monoscan.cli import main

if __name__ == "__main__":  # a spawned helper process imports this module again
    sys.exit(main())
