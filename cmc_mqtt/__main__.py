"""`python -m cmc_mqtt` is the `cmc-mqtt` command."""

import sys

from .cli import main

sys.exit(main())
