"""The bridge's entity ids are the ones Home Assistant derives: `entity_ids.slugify` against
Home Assistant's own `homeassistant.util.slugify`, in this Home Assistant (2024.3 pins
python-slugify 8.0.4, current ones 9.x), on hostile names and on many random ones."""

from __future__ import annotations

import random

import pytest
from homeassistant.util import slugify as ha_slugify

from cmc_mqtt.homeassistant.entity_ids import entity_id, slugify
from cmc_mqtt.model.coins import CoinInfo

HOSTILE = [
    "Ðogecoin Ünicode",
    "Ðogecoin Ünicode (ÐU) Price",
    "Bit\u202ecoin (BTC)",  # right-to-left override
    "Bit\u202dcoin\u202c",
    "Zero\u200dWidth\u200cJoiner",
    "Line\u2028Separator\u2029Paragraph",
    "Next\x85Line\x00Nul\x7fDel",
    "Soft\u00adHyphen\ufeffBOM",
    "Rocket 🚀 Coin",
    "👨\u200d👩\u200d👧",
    "比特币 (BTC)",
    "ビットコイン",
    "Биткоин",
    "ⓑⓘⓣ ①②③",
    "ﬁnance ﬀ Ⅻ ½",
    "İstanbul ß ǅ \u210c K",
    "café au lait",
    "cafe\u0301",
    "Don't Panic",
    "Rock'n'Roll \u2018quoted\u2019 \u201cdouble\u201d",
    "1,000,000 x 2,5",
    "Tom &amp; Jerry &lt;3 &eacute;t&eacute; &notin;",
    "&#39;quoted&#39; &#x41;&#x42; &#1633;,2",
    "&#99999999999; &#65;",
    "&#x110000; &#x41;",
    "&#55296; lone surrogate reference",
    "\ud800 lone surrogate",
    "___---   ",
    "-",
    " ",
    "\u200d",
    "🚀",
    "",
    "CMC #2147483647 (#2147483647) Circulating supply",
    "cmc-mqtt bridge Stream connected",
    "A" * 200,
]


@pytest.mark.parametrize("name", HOSTILE)
def test_slugs_are_home_assistants(name: str) -> None:
    assert slugify(name) == ha_slugify(name)


def test_the_slug_the_issue_named() -> None:
    assert slugify("Ðogecoin Ünicode") == "dogecoin_unicode"
    assert slugify("Ðogecoin Ünicode (ÐU) Price") == "dogecoin_unicode_du_price"


def test_entity_ids_are_home_assistants_for_cleaned_and_raw_names() -> None:
    for name in HOSTILE:
        coin = CoinInfo(7, name, name[:16])
        for device in (coin.label, f"{name} ({name})"):
            expected = ha_slugify(f"{device} Price")
            assert entity_id("cmc_mqtt", "sensor", device, "Price") == f"sensor.{expected}"
            office = f"sensor.{ha_slugify('Office 2')}_{expected}"
            assert entity_id("Office 2", "sensor", device, "Price") == office


#: Pieces random names are built from: every step of the slug has something to do.
PIECES = [
    *"aZz09 '&;#x,-_.()/",
    *["&amp;", "&#39;", "&#x41;", "&#x2019;", "&#9999999999;", "&eacute;", "&notin;", "&nbsp;"],
    *["Ð", "Ü", "ß", "中", "ア", "Б", "😀", "🇩🇪", "İ", "ﬁ", "①", "Ω", "Å", "ǅ", "Ⅻ"],
    *["\u0661", "\u210c"],  # ARABIC-INDIC DIGIT ONE, BLACK-LETTER CAPITAL H
    *["\u0301", "\u200d", "\u200c", "\u202e", "\u2028", "\u2029", "\x85", "\x00", "\t", "\n"],
    *["\ufeff", "\u00ad", "\ud800", "\udfff", "\U000e0041", "\u3000", "\u00a0"],
]


def test_random_names_slug_as_home_assistant_does() -> None:
    rng = random.Random(20)
    differ = []
    for _ in range(20_000):
        name = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
        if slugify(name) != ha_slugify(name):
            differ.append((name, slugify(name), ha_slugify(name)))
    assert differ == []


def test_every_character_of_the_basic_plane_slugs_as_home_assistant_does() -> None:
    differ = []
    for code in range(0x10000):
        name = f"A{chr(code)}b 1,{chr(code)}2"
        if slugify(name) != ha_slugify(name):
            differ.append((hex(code), slugify(name), ha_slugify(name)))
    assert differ == []
