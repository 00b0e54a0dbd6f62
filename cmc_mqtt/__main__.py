"""`python -m cmc_mqtt` is the `cmc-mqtt` command."""

from .cli import entry

entry()
