"""``python -m bpnet ...``: the ``bpnet`` command line."""
import sys

from .cli import main

sys.exit(main())
