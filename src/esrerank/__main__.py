"""``python -m esrerank``."""

from .cli import main

main()
