"""``python -m bpnet.exercises``: see :mod:`bpnet.exercises.cli`."""
import sys

from .cli import main

sys.exit(main())
