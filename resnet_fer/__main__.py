"""``python -m resnet_fer ...`` (and ``torchrun ... -m resnet_fer train ...``): the ``resnet-fer`` CLI."""
import sys

from .cli import main

sys.exit(main())
