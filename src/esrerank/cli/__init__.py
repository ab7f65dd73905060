"""The ``esrerank`` command line: ingest, attach, query, eval, train, reembed and serve.

Options come from flags, then ``ESRERANK_*`` environment variables, then the config file
(``esrerank.toml``), then defaults. Library errors print as one line and exit 1; bad flags exit 2.
"""

from . import eval_command, index_commands, serve_command, train_command  # noqa: F401 - they register the commands
from .app import cli, main

__all__ = ["cli", "main"]
