"""Sub-commands of the ``calolib`` CLI; each module defines ``register(subparsers)``
which adds its parser and sets ``func`` (``args -> int`` exit code)."""
