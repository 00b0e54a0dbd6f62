"""Entity-id slugs: Home Assistant's answers (taken from its `slugify` in 2024.3 and 2026.10;
tests_ha/test_slugify.py compares the two on thousands more), and what they cost to make."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cmc_mqtt.homeassistant.entity_ids import entity_id, slugify

#: name -> what Home Assistant's own slugify gives.
HOME_ASSISTANTS = {
    "Ðogecoin Ünicode (ÐU) Price": "dogecoin_unicode_du_price",
    "Bit\u202ecoin (BTC)": "bitcoin_btc",
    "比特币 (BTC)": "bi_te_bi_btc",
    "Rocket 🚀 Coin": "rocket_coin",
    "Don't Panic": "don_t_panic",
    "1,000,000 x 2,5": "1000000_x_25",
    "Tom &amp; Jerry &eacute;t&eacute;": "tom_jerry_e_te",
    "ﬁnance Ⅻ ½": "finance_xii_1_2",
    "Биткоин": "bitkoin",
    "Zero\u200dWidth": "zerowidth",
    "&#99999999999; &#65;": "99999999999_65",
    "Ⓑitcoin": "bitcoin",
    "🚀": "unknown",
    "": "",
    "Bitcoin (BTC) Price": "bitcoin_btc_price",
}


@pytest.mark.parametrize(("name", "slug"), HOME_ASSISTANTS.items())
def test_slugs_are_home_assistants(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_entity_ids_put_another_bridges_node_id_in_front() -> None:
    assert entity_id("cmc_mqtt", "sensor", "Ðogecoin Ünicode (ÐU)", "Price") == (
        "sensor.dogecoin_unicode_du_price"
    )
    assert entity_id("Office", "sensor", "Bitcoin (BTC)", "Price") == (
        "sensor.office_bitcoin_btc_price"
    )


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_plain_names_never_load_the_transliteration_table() -> None:
    """The table costs about 0.6 MB, python-slugify's import about 5 MB: neither for ASCII."""
    out = run(
        "import sys\n"
        "from cmc_mqtt import bridge\nfrom cmc_mqtt.homeassistant import entity_ids\n"
        "entity_ids.slugify('Bitcoin (BTC) Price')\n"
        "print(entity_ids._table.cache_info().currsize,"
        " 'slugify' in sys.modules, 'text_unidecode' in sys.modules)"
    )
    assert out == "0 False False"


def test_a_name_beyond_ascii_loads_the_table_once_without_importing_its_package() -> None:
    out = run(
        "import sys\n"
        "from cmc_mqtt.homeassistant import entity_ids\n"
        "a = entity_ids.slugify('Ðoge'); b = entity_ids.slugify('中')\n"
        "print(a, b, entity_ids._table.cache_info().misses, 'text_unidecode' in sys.modules)"
    )
    assert out == "doge zhong 1 False"
