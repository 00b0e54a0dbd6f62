"""Constants of the cmc_mqtt integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "cmc_mqtt"
LOGGER = logging.getLogger(__package__)

CONF_PREFIX: Final = "topic_prefix"
CONF_COINS: Final = "coins"
CONF_FIELDS: Final = "fields"
#: Option: the entry's coins follow the bridge's (`crypto_ids` in `bridge/info`). On for
#: entries made since it exists; entries without it keep the coins the user pinned.
CONF_FOLLOW: Final = "follow_bridge"
#: Option kept with the coins: the bridge's coins when the entry last looked, to tell a coin
#: added on the bridge (followed) from one the user left out (kept out).
CONF_BRIDGE_COINS: Final = "bridge_coins"
DEFAULT_PREFIX: Final = "cmc"

#: How long the config flow listens for the bridge's retained topics.
FIND_TIMEOUT: Final = 3.0
#: How long a request waits for the bridge's answer: adding a coin may ask CoinMarketCap first
#: (up to 5 s), reconnecting waits for the old connections to end.
REQUEST_TIMEOUT: Final = 15.0

#: Config entry version: 2 scopes unique ids and device identifiers to the topic prefix.
ENTRY_VERSION: Final = 2


#: Data keys redacted from diagnostics, should any ever be seen.
TO_REDACT: Final = {"api_key", "password", "username", "X-CMC_PRO_API_KEY"}


#: Repair issues, one of each per entry (the entry id follows the key).
ISSUE_DUPLICATES: Final = "duplicate_entities"
ISSUE_CREDIT_BUDGET: Final = "credit_budget"


def issue_id(key: str, entry_id: str) -> str:
    return f"{key}_{entry_id}"


def signal_coin_availability(entry_id: str, coin_id: int) -> str:
    """Dispatcher signal for one coin's availability: a coin going stale redraws its own
    entities only; the bridge's status going up or down signals every coin."""
    return f"{DOMAIN}_availability_{entry_id}_{coin_id}"


def signal_bridge(entry_id: str) -> str:
    """Dispatcher signal for the bridge device's entities: its status, info or credits
    changed."""
    return f"{DOMAIN}_bridge_{entry_id}"


def signal_portfolio(entry_id: str) -> str:
    """Dispatcher signal for the portfolio device's entities: the bridge's or the portfolio's
    status changed."""
    return f"{DOMAIN}_portfolio_{entry_id}"
