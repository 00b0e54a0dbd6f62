"""Coin names from CoinMarketCap's REST map, tested against a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmc_mqtt.config import parse_settings
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model.coins import BUNDLED_COINS, HIDDEN_CATEGORIES, CoinInfo
from cmc_mqtt.rest.client import Cancel
from cmc_mqtt.rest.names import CoinDirectory, clean_text
from cmc_mqtt.rest.worker import RestWorker
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY, SilentServer, wait_until


class MapServer:
    """Serves /v1/cryptocurrency/map like CoinMarketCap, with knobs for failure."""

    def __init__(self, coins: list[dict[str, Any]]) -> None:
        self.coins = coins
        self.status = 200
        self.delay = 0.0
        self.requests: list[tuple[dict[str, list[str]], str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                owner.requests.append((query, self.headers.get("X-CMC_PRO_API_KEY")))
                time.sleep(owner.delay)
                start, limit = int(query["start"][0]), int(query["limit"][0])
                page = owner.coins[start - 1 : start - 1 + limit]
                body = json.dumps({"data": page, "status": {"error_code": 0}}).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def entry(cid: int, name: str, symbol: str, slug: str) -> dict[str, Any]:
    return {"id": cid, "rank": cid, "name": name, "symbol": symbol, "slug": slug, "is_active": 1}


@pytest.fixture
def map_server() -> Iterator[MapServer]:
    server = MapServer([entry(1, "Bitcoin", "BTC", "bitcoin"), entry(777, "Luck", "LCK", "luck")])
    yield server
    server.close()


def test_names_are_fetched_with_the_key_header(map_server: MapServer, tmp_path: Path) -> None:
    names = CoinDirectory({}, tmp_path)
    assert names.get(777).name == "CMC #777"
    assert names.refresh(Secret(TEST_API_KEY), map_server.url, [1, 777], timeout=5)
    assert names.get(777) == CoinInfo(777, "Luck", "LCK", "luck")
    query, key = map_server.requests[0]
    assert key == TEST_API_KEY
    assert query["sort"] == ["id"]
    assert query["listing_status"] == ["active"]


def test_a_failed_lookup_keeps_the_bundled_names(
    map_server: MapServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    map_server.status = 500
    names = CoinDirectory({}, tmp_path)
    assert not names.refresh(Secret(TEST_API_KEY), map_server.url, [1, 777], timeout=5)
    assert names.get(1).name == "Bitcoin"
    assert names.get(777).name == "CMC #777"
    assert "HTTP 500" in caplog.text


def test_a_slow_lookup_gives_up_at_its_timeout(map_server: MapServer, tmp_path: Path) -> None:
    map_server.delay = 3.0
    names = CoinDirectory({}, tmp_path)
    worker = RestWorker()
    done = threading.Event()

    def lookup(cancel: Cancel) -> None:
        names.refresh(Secret(TEST_API_KEY), map_server.url, [777], timeout=0.3, cancel=cancel)
        done.set()

    worker.schedule(lookup)
    worker.start()
    try:
        assert done.wait(10)
        assert names.get(777).name == "CMC #777"
    finally:
        worker.cancel()
        assert worker.join(5)


def test_names_are_cached_for_when_the_api_is_down(map_server: MapServer, tmp_path: Path) -> None:
    CoinDirectory({}, tmp_path).refresh(Secret(TEST_API_KEY), map_server.url, [777], timeout=5)
    map_server.status = 503
    later = CoinDirectory({}, tmp_path)
    assert later.get(777).name == "Luck"  # from the cache, before any lookup
    later.refresh(Secret(TEST_API_KEY), map_server.url, [777], timeout=5)
    assert later.get(777).name == "Luck"
    assert TEST_API_KEY not in (tmp_path / "coins.json").read_text()


def test_config_overrides_win(map_server: MapServer, tmp_path: Path) -> None:
    override = CoinInfo(777, "My Luck", "ML", None)
    names = CoinDirectory({777: override}, tmp_path)
    names.refresh(Secret(TEST_API_KEY), map_server.url, [777], timeout=5)
    assert names.get(777) == override
    assert map_server.requests == []  # nothing left to ask for


def test_hostile_names_are_cleaned(tmp_path: Path) -> None:
    server = MapServer([
        entry(5, "Evil\x1b[31m\nCoin" + "x" * 200, "EV\x00L", "bad slug/../"),
        {"id": "6", "name": "string id"},
        entry(7, "", "E", "e"),
        "not an object",
    ])  # fmt: skip
    try:
        names = CoinDirectory({}, tmp_path)
        names.refresh(Secret("k"), server.url, [5, 6, 7], timeout=5)
        coin = names.get(5)
        assert coin.name.startswith("Evil[31mCoin")
        assert len(coin.name) == 64
        assert coin.symbol == "EVL"
        assert coin.slug is None
        assert names.get(6).name == "CMC #6"
        assert names.get(7).name == "CMC #7"
    finally:
        server.close()


def test_clean_text() -> None:
    assert clean_text("  a\tb  ", 10) == "ab"
    assert clean_text(5, 10) is None
    assert clean_text("\x00", 10) is None


def test_stopping_cancels_a_lookup_in_flight(tmp_path: Path) -> None:
    """A lookup waiting on a server that never answers ends when cancelled, not at its
    timeout: a bridge that is stopping must not leave it reading a socket at exit."""
    silent = SilentServer()
    names = CoinDirectory({}, tmp_path)
    worker = RestWorker()
    url = f"http://127.0.0.1:{silent.port}"
    worker.schedule(
        lambda cancel: names.refresh(Secret(TEST_API_KEY), url, [777], timeout=60, cancel=cancel)
    )
    worker.start()
    try:
        wait_until(lambda: silent.accepted)
        assert not worker.join(timeout=0.2)  # still waiting for the answer
        worker.cancel()
        assert worker.join(timeout=10)
        assert names.get(777).name == "CMC #777"
    finally:
        silent.close()


#: One of each kind of hidden character: C1 control, line and paragraph separators, bidi
#: override, zero-width joiner, byte order mark, soft hyphen, a lone surrogate.
HIDDEN = "\x85\u2028\u2029\u202e\u200d\ufeff\u00ad\ud800"


def visible(text: str) -> bool:
    return not any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in text)


def test_hidden_characters_are_stripped_from_the_map(tmp_path: Path) -> None:
    server = MapServer([entry(5, f"Ev{HIDDEN}il", f"E{HIDDEN}V", "ev"), entry(6, HIDDEN, "X", "x")])
    try:
        names = CoinDirectory({}, tmp_path)
        names.refresh(Secret("k"), server.url, [5, 6], timeout=5)
    finally:
        server.close()
    assert names.get(5) == CoinInfo(5, "Evil", "EV", "ev")
    assert names.get(6).name == "CMC #6"  # nothing visible was left: not a name
    cached = (tmp_path / "coins.json").read_text()
    assert visible(json.loads(cached)["coins"][0]["name"])


def test_every_name_a_coin_is_given_is_cleaned_wherever_it_comes_from() -> None:
    """Config overrides, the bundled table, the cache and the map all build a CoinInfo."""
    coin = CoinInfo(9, f" My{HIDDEN} Token ", f"{HIDDEN}MT", f"my{HIDDEN}-token")
    assert (coin.name, coin.symbol, coin.slug) == ("My Token", "MT", "my-token")
    assert coin.label == "My Token (MT)"
    assert CoinInfo(9, HIDDEN, " ", HIDDEN) == CoinInfo(9, "CMC #9", "#9", None)
    assert CoinInfo(9, "x" * 100, "y" * 100).name == "x" * 64
    assert all(visible(c.label) and c == CoinInfo(c.id, c.name, c.symbol, c.slug)
               for c in BUNDLED_COINS.values())  # fmt: skip


def test_names_with_hidden_characters_are_refused_by_the_configuration(tmp_path: Path) -> None:
    """The configuration refuses them (one line naming the key); CoinInfo would clean them."""
    raw = {
        "cmc": {"api_key": "k", "crypto_ids": [777], "cache_dir": str(tmp_path)},
        "mqtt": {},
        "coins": {"777": {"name": "Bit\u202ecoin", "symbol": "BC"}},
    }
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw, environ={})
    assert any(line.startswith("coins.777.name") for line in refused.value.problems)


def test_clean_text_strips_every_hidden_category() -> None:
    for code in range(0x110000):
        char = chr(code)
        hidden = unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs"}
        assert (clean_text(f"a{char}b", 10) == "ab") == hidden or char.isspace(), hex(code)


def _cleaned_the_long_way(value: str, limit: int) -> str | None:
    """What `clean_text` did before its shortcut for text that is clean already."""
    value = "".join(c for c in value if unicodedata.category(c) not in HIDDEN_CATEGORIES)
    return value.strip()[:limit].strip() or None


@given(st.text(alphabet=st.sampled_from(" aZ9é\t\u00a0\u2028\u202e\u200d\x85#"), max_size=12),
       st.integers(min_value=1, max_value=10))  # fmt: skip
@settings(max_examples=400, deadline=None)
def test_the_shortcut_for_clean_text_changes_nothing(value: str, limit: int) -> None:
    assert clean_text(value, limit) == _cleaned_the_long_way(value, limit)
