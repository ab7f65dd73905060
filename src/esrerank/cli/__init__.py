"""The ``esrerank`` command line: ingest, attach, query, eval, judgments, train, reembed and
serve.

Options come from flags, then ``ESRERANK_*`` environment variables, then the config file
(``esrerank.toml``), then defaults. Library errors print as one line and exit 1; bad flags exit 2.
"""

from . import (  # noqa: F401 - they register the commands
    eval_command,
    index_commands,
    judgments_command,
    serve_command,
    train_command,
)
from .app import cli, main

__all__ = ["cli", "main"]
