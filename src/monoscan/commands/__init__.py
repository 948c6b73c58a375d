"""CLI sub-commands. Each module exposes ``register(subparsers)``; see :mod:`monoscan.cli`."""
