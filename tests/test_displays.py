"""Display outputs over a real broker: text topic, AWTRIX apps, throttle, deadband, removal."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.config import AwtrixSettings, Throttle, parse_settings
from cmc_mqtt.displays.awtrix import (
    AlertSignals,
    AwtrixExtras,
    PriceHistory,
    chart_payload,
    clock_currency,
    fragments,
    parse_extras,
    scale_line,
)
from cmc_mqtt.displays.text import TextTemplate
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.extensions.display_outputs import (
    Displays,
    MoneyProvider,
    ThrottledOutput,
    awtrix_payload,
)
from cmc_mqtt.model.coins import coin_info
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.alerts import Alert
from cmc_mqtt.money.currency import CURRENCIES, MoneyValues, convert
from cmc_mqtt.rest.names import CoinDirectory
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.state.bridge_state import BridgeState
from cmc_mqtt.stream.frames import QuoteFrame
from harness.helpers import TEST_API_KEY, Broker, Subscriber, retained, wait_until

from .test_bridge_requests import ask
from .test_fx import ClientOutbox

StartBridge = Callable[..., Bridge]
CLOCK = "awtrix_test"
BTC_APP = f"{CLOCK}/custom/cmc_1"


def quiet(stream: FakeStreamServer) -> None:
    stream.behaviour.push_data = False


def app_messages(subscriber: Subscriber, topic: str = BTC_APP) -> list[dict[str, object]]:
    return [json.loads(p) for t, p, _ in list(subscriber.messages) if t == topic and p]


def test_awtrix_app_is_green_or_red_by_the_24h_change(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 0, "icons": {"1": "5791"}}])
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 81187.93, "p24h": 0.53})
    subscriber.wait_for(lambda _last: app_messages(subscriber))
    app = app_messages(subscriber)[-1]
    assert app == {
        "text": "BTC $81,187.93 +0.53%",
        "color": "#00FF00",
        "lifetime": 120,
        "lifetimeMode": 1,
        "icon": "5791",
    }
    assert "save" not in app
    stream.send_quote({"cid": 1, "p": 80000.5, "p24h": -1.25})
    subscriber.wait_for(lambda _last: len(app_messages(subscriber)) == 2)
    assert app_messages(subscriber)[-1]["color"] == "#FF0000"
    assert app_messages(subscriber)[-1]["text"] == "BTC $80,000.50 -1.25%"
    assert subscriber.last["cmc/1/text"] == "BTC $80,000.50 ▼1.25%"


def test_throttle_sends_the_newest_value_once_the_interval_has_passed(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 1.5}])
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 100.5, "p24h": 1.0})
    subscriber.wait_for(lambda _last: app_messages(subscriber))  # the first goes out at once
    for price in (101.5, 102.5, 103.5, 104.5):  # a burst inside the interval
        stream.send_quote({"cid": 1, "p": price, "p24h": 1.0})
        subscriber.wait_topic("cmc/1/p", str(price))  # each reached the bridge on its own
    subscriber.wait_for(lambda _last: len(app_messages(subscriber)) >= 2)
    texts = [m["text"] for m in app_messages(subscriber)]
    # Then only the newest, once the interval has passed; nothing in between.
    assert texts == ["BTC $100.50 +1.00%", "BTC $104.50 +1.00%"]
    # The text topic is not throttled: it showed every price.
    assert len([t for t, _, _ in subscriber.messages if t == "cmc/1/text"]) == 5


def test_deadband_skips_small_moves(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 0, "deadband": 1.0}])
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 100.0, "p24h": 1.0})
    subscriber.wait_for(lambda _last: app_messages(subscriber))
    stream.send_quote({"cid": 1, "p": 100.5, "p24h": 1.0})  # 0.5 %: below the deadband
    subscriber.wait_topic("cmc/1/text", "BTC $100.50 ▲1.00%")  # separate frames, not coalesced
    stream.send_quote({"cid": 1, "p": 102.0, "p24h": 1.0})  # 2 %: shown
    subscriber.wait_for(lambda _last: len(app_messages(subscriber)) == 2)
    assert [m["text"] for m in app_messages(subscriber)] == [
        "BTC $100.00 +1.00%",
        "BTC $102.00 +1.00%",
    ]
    # The text topic has no deadband of its own: it saw every move.
    texts = [p for t, p, _ in subscriber.messages if t == "cmc/1/text"]
    assert "BTC $100.50 ▲1.00%" in texts


def test_removing_a_coin_deletes_its_app(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    first = start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 0}])
    retained(broker, f"{CLOCK}/#", lambda last: len(last) == 2)  # apps for 1 and 1027
    first.stop()
    start_bridge(cmc={"crypto_ids": [1]}, awtrix=[{"prefix": CLOCK, "min_interval": 0}])
    store = retained(broker, f"{CLOCK}/#", lambda last: list(last) == [BTC_APP])
    assert json.loads(store[BTC_APP])["lifetimeMode"] == 1


def clock_apps(messages: list[tuple[str, str, bool]]) -> set[str]:
    """The apps an AWTRIX 3 clock holds after these messages. It deletes as its firmware does:
    an empty payload deletes every app whose name starts with the one named
    (`removeCustomAppFromApps` in DisplayManager.cpp), so `cmc_1` takes `cmc_1027` with it."""
    apps: set[str] = set()
    for topic, payload, _ in messages:
        if topic.startswith(f"{CLOCK}/custom/"):
            name = topic.rsplit("/", 1)[1]
            if payload in ("", "{}"):
                apps = {app for app in apps if not app.startswith(name)}
            else:
                apps.add(name)
    return apps


def test_a_removed_coins_app_takes_no_other_app_with_it(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    clock = Subscriber(broker, f"{CLOCK}/#")
    try:
        # A long throttle: nothing is sent again on its own within the test.
        start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 600}])
        wait_until(lambda: clock_apps(clock.messages) == {"cmc_1", "cmc_1027"})
        answer = ask(broker, "cmc/bridge/request/coins/remove", json.dumps({"ids": [1]}))
        assert answer["status"] == "ok"
        wait_until(lambda: (BTC_APP, "", True) in clock.messages or (BTC_APP, "", False) in
                   clock.messages)  # fmt: skip
        wait_until(lambda: clock_apps(clock.messages) == {"cmc_1027"})
    finally:
        clock.close()


def test_text_topic_can_be_switched_off(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    first = start_bridge()
    retained(broker, "cmc/+/text", lambda last: len(last) == 2)
    first.stop()
    second = start_bridge(text={"enabled": False})
    retained(broker, "cmc/#", lambda last: "cmc/1/p" in last and "cmc/1/text" not in last)
    wait_until(lambda: second.sweep.done)


# --- AWTRIX 3's API, as its documentation gives it ("MQTT / HTTP API", JSON properties) ---

APP_KEYS = {
    "text", "textCase", "topText", "textOffset", "center", "color", "gradient", "blinkText",
    "fadeText", "background", "rainbow", "icon", "pushIcon", "repeat", "duration", "bar", "line",
    "autoscale", "barBC", "progress", "progressC", "progressBC", "pos", "draw", "lifetime",
    "lifetimeMode", "noScroll", "scrollSpeed", "effect", "effectSettings", "save", "overlay",
}  # fmt: skip
NOTIFY_ONLY = {"hold", "sound", "rtttl", "loopSound", "stack", "wakeup", "clients"}
NOTIFY_KEYS = (APP_KEYS - {"pos", "lifetime", "lifetimeMode", "save"}) | NOTIFY_ONLY
INDICATOR_KEYS = {"color", "blink", "fade"}


def is_colour(value: object) -> bool:
    if isinstance(value, list):
        return len(value) == 3 and all(type(v) is int and 0 <= v <= 255 for v in value)
    text = value.lstrip("#") if isinstance(value, str) else ""
    return len(text) == 6 and all(c in "0123456789ABCDEFabcdef" for c in text)


def check_awtrix(payload: str, keys: set[str]) -> dict[str, Any]:
    """Parse and check a payload against the documented keys and their types."""
    data = json.loads(payload)
    assert isinstance(data, dict)
    assert set(data) <= keys, set(data) - keys
    text = data.get("text")
    if isinstance(text, list):  # coloured fragments
        for fragment in text:
            assert set(fragment) <= {"t", "c", "b"}
            assert isinstance(fragment["t"], str)
            assert is_colour(fragment["c"])
    else:
        assert text is None or isinstance(text, str)
    for key in ("color", "background", "barBC", "progressC", "progressBC"):
        assert key not in data or is_colour(data[key])
    if "line" in data:
        limit = 11 if "icon" in data else 16
        assert 2 <= len(data["line"]) <= limit
        assert all(type(v) is int and 1 <= v <= 8 for v in data["line"])  # rows 7..0
        assert data.get("autoscale") is False
    for key in ("lifetime", "blink", "duration"):
        assert key not in data or type(data[key]) is int
    assert data.get("lifetimeMode", 0) in (0, 1)
    for key in ("hold", "autoscale", "stack", "wakeup"):
        assert key not in data or type(data[key]) is bool
    assert "icon" not in data or isinstance(data["icon"], str)
    assert "save" not in data  # would wear the clock's flash at every price
    return data


def test_the_plain_app_keeps_its_shape() -> None:
    clock = AwtrixSettings(prefix="clock", icons={1: "5791"})
    app = check_awtrix(awtrix_payload(clock, "BTC $81,187.93 +0.53%", 0.53, 1), APP_KEYS)
    assert app == {"text": "BTC $81,187.93 +0.53%", "color": "#00FF00", "lifetime": 120,
                   "lifetimeMode": 1, "icon": "5791"}  # fmt: skip


def test_coloured_text_fragments() -> None:
    parts = TextTemplate("{symbol} {price} {change_signed}").render_parts(
        coin_info(1), {"p": 80000.5, "p24h": -1.25}
    )
    assert fragments(parts, -1.25, "#FFB000") == [
        {"t": "BTC", "c": "FFB000"},
        {"t": " $80,000.50 ", "c": "FFFFFF"},  # neighbours of one colour merged
        {"t": "-1.25%", "c": "FF0000"},
    ]
    plain = fragments([("ETH", "symbol"), (" ", None), ("", "arrow")], None, "#FFFFFF")
    assert plain == [{"t": "ETH ", "c": "FFFFFF"}]


@pytest.mark.parametrize(
    ("prices", "line"),
    [
        ([100.0, 101.0, 102.0], [1, 5, 8]),
        ([5.0, 5.0, 5.0], [4, 4, 4]),  # flat: the middle row
        ([0.2141, 0.2139, 0.2143, 0.2141], [5, 1, 8, 5]),  # small moves still fill the height
        ([float(i) for i in range(20)], [1 + round(i * 7 / 15) for i in range(16)]),  # last 16
        ([1.0], [4]),
        ([], []),
    ],
)
def test_chart_lines_are_scaled_to_the_rows(prices: list[float], line: list[int]) -> None:
    assert scale_line(prices) == line


def test_the_chart_app() -> None:
    prices = [100.0 + i for i in range(16)]
    app = check_awtrix(chart_payload(prices, 2.0, 120, None) or "", APP_KEYS)
    assert app == {"line": scale_line(prices), "autoscale": False, "color": "#00FF00",
                   "lifetime": 120, "lifetimeMode": 1}  # fmt: skip
    beside_icon = check_awtrix(chart_payload(prices, -1.0, 60, "5791") or "", APP_KEYS)
    assert len(beside_icon["line"]) == 11  # the documented maximum beside an icon
    assert beside_icon["color"] == "#FF0000"
    assert chart_payload([100.0], 1.0, 60, None) is None  # a line needs two points


def test_price_history_keeps_one_point_per_interval_and_is_bounded() -> None:
    history = PriceHistory(points=3, interval=60)
    for now, price in [(0, 1.0), (30, 2.0), (60, 3.0), (130, 4.0), (170, 5.0), (185, 6.0)]:
        history.add(1, price, now)
    # 0-59: 2 replaced 1; 60-119: 3; 120-179: 5 replaced 4; 180-: 6 — and only the last 3.
    assert history.series(1) == [3.0, 5.0, 6.0]
    history.add(2, 9.0, 0)
    history.keep_only([2])
    assert history.series(1) == []
    assert history.series(2) == [9.0]


def test_alert_notifications_and_indicators() -> None:
    extras = AwtrixExtras(notify_alerts=True, notify_sound="beep", indicator=2,
                          indicator_blink_ms=300, indicator_seconds=60)  # fmt: skip
    signals = AlertSignals("clock", extras, {1: "5791"})
    up = Alert(1, "price", "up", Decimal(100000), Decimal("100012.34"), 0.0, CURRENCIES["EUR"])
    sent = signals.on_alert(up, coin_info(1), now=1000.0)
    assert [topic for topic, _ in sent] == ["clock/notify", "clock/indicator2"]
    note = check_awtrix(sent[0][1], NOTIFY_KEYS)
    assert note == {"text": "BTC above €100,000.00", "color": "#00FF00", "hold": True,
                    "icon": "5791", "sound": "beep"}  # fmt: skip
    indicator = check_awtrix(sent[1][1], INDICATOR_KEYS)
    assert indicator == {"color": "#00FF00", "blink": 300}
    assert signals.due(1059.0) == []
    assert signals.due(1060.0) == [("clock/indicator2", '{"color":[0,0,0]}')]  # hidden again
    assert signals.due(2000.0) == []
    down = Alert(74, "change", "down", Decimal(-5), Decimal("-5.126"), 0.0)
    (only,) = AlertSignals("c", AwtrixExtras(notify_alerts=True, notify_hold=False,
                                             notify_rtttl="x:d=4:c"), {}).on_alert(
        down, coin_info(74), 0.0
    )  # fmt: skip
    assert check_awtrix(only[1], NOTIFY_KEYS) == {"text": "DOGE 24h -5.13%", "color": "#FF0000",
                                                  "hold": False, "rtttl": "x:d=4:c"}  # fmt: skip
    assert not AlertSignals("c", AwtrixExtras(), {}).enabled


def test_symbols_the_clock_cannot_draw_become_codes() -> None:
    assert clock_currency(CURRENCIES["EUR"]).symbol == "€"
    assert clock_currency(CURRENCIES["GBP"]).symbol == "£"
    assert clock_currency(CURRENCIES["INR"]).place("12.50") == "INR 12.50"
    assert clock_currency(CURRENCIES["PLN"]).place("12.50") == "PLN 12.50"


def test_clock_options_from_the_configuration() -> None:
    extras = parse_extras({"colored_text": True, "chart_points": 12, "chart_interval": 600,
                           "indicator": 3, "prefix": "ignored"}, "awtrix[0]")  # fmt: skip
    assert extras == AwtrixExtras(colored_text=True, chart_points=12, chart_interval=600.0,
                                  indicator=3)  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_extras({"chart_points": 17, "indicator": 4, "symbol_color": "gold",
                      "notify_alerts": "yes", "chart_interval": float("inf")},
                     "awtrix[1]")  # fmt: skip
    assert sorted(info.value.problems) == [
        "awtrix[1].chart_interval: expected seconds >= 1, got inf",
        "awtrix[1].chart_points: expected 0 or 2..16, got 17",
        "awtrix[1].indicator: expected 1, 2 or 3, got 4",
        "awtrix[1].notify_alerts: expected true or false, got 'yes'",
        "awtrix[1].symbol_color: expected a colour such as \"#FFB000\", got 'gold'",
    ]


# --- the new options over a real broker ---


def direct_displays(
    broker: Broker,
    extras: list[AwtrixExtras],
    money: MoneyProvider | None = None,
    text_template: str | None = None,
) -> tuple[Displays, BridgeState, ClientOutbox]:
    raw: dict[str, Any] = {
        "cmc": {"api_key": TEST_API_KEY, "crypto_ids": [1, 74], "lookup_names": False},
        "mqtt": {"host": broker.host, "port": broker.port},
        "awtrix": [{"prefix": CLOCK, "min_interval": 0, "icons": {"1": "5791"}}],
    }
    if text_template is not None:
        raw["text"] = {"template": text_template}
    settings = parse_settings(raw, environ={})
    state = BridgeState([1, 74], Topics("cmc"))
    displays = Displays(settings, state, CoinDirectory({}, None), extras=extras, money=money)
    outbox = ClientOutbox(broker, displays)
    assert outbox.connected.wait(10)  # on_connected ran on paho's thread; from now on, this one
    return displays, state, outbox


def quote(state: BridgeState, cid: int, **texts: str) -> None:
    assert state.apply_quote(QuoteFrame(cid, None, texts))


def test_chart_and_coloured_app_reach_the_broker(broker: Broker, subscriber: Subscriber) -> None:
    displays, state, outbox = direct_displays(
        broker, [AwtrixExtras(colored_text=True, chart_points=4, chart_interval=1e-6)]
    )
    try:
        for price in ("100", "103", "101", "104", "105"):
            quote(state, 1, p=price, p24h="1.5")
            displays.on_batch(outbox)
            subscriber.wait_for(lambda last, p=price: f"${p}" in last.get(BTC_APP, ""))
        # 103, 101, 104, 105 scaled to rows (the first price fell off the four points).
        expected = [5, 1, 6, 8]
        subscriber.wait_for(
            lambda last: (c := last.get(f"{BTC_APP}_chart")) and json.loads(c)["line"] == expected
        )
        app = check_awtrix(subscriber.last[f"{BTC_APP}_chart"], APP_KEYS)
        assert app["icon"] == "5791"
        text = check_awtrix(subscriber.last[BTC_APP], APP_KEYS)["text"]
        assert text == [{"t": "BTC", "c": "FFB000"}, {"t": " $105.00 ", "c": "FFFFFF"},
                        {"t": "+1.50%", "c": "00FF00"}]  # fmt: skip
        retained_apps = retained(broker, f"{CLOCK}/#", lambda last: len(last) == 2)
        assert set(retained_apps) == {BTC_APP, f"{BTC_APP}_chart"}
    finally:
        outbox.close()


def test_texts_in_the_chosen_currency_and_alerts_on_the_clock(
    broker: Broker, subscriber: Subscriber
) -> None:
    eur = CURRENCIES["EUR"]

    def money(cid: int) -> MoneyValues:
        texts = {1: {"p": "81187.93284788371"}}.get(cid, {})
        fields = {k: convert(v, Decimal("0.92")) for k, v in texts.items()}
        return MoneyValues(eur, fields, value=Decimal("18673.2245") if cid == 1 else None)

    extras = [AwtrixExtras(notify_alerts=True, indicator=1, indicator_seconds=1)]
    displays, state, outbox = direct_displays(broker, extras, money, "{symbol} {price} {value}")
    try:
        quote(state, 1, p="81187.93284788371", p24h="0.53")
        quote(state, 74, p="0.2141")
        displays.on_batch(outbox)
        subscriber.wait_topic("cmc/1/text", "BTC €74,692.90 €18,673.22")
        subscriber.wait_topic("cmc/74/text", "DOGE \u2013 \u2013")  # no converted price: dashes
        app = subscriber.wait_for(lambda last: last.get(BTC_APP))
        assert json.loads(app)["text"] == "BTC €74,692.90 +0.53%"

        alert = Alert(1, "price", "up", Decimal(70000), Decimal("74692.9"), 0.0, eur)
        displays.show_alerts([alert], outbox)
        note = subscriber.wait_topic(f"{CLOCK}/notify")
        assert check_awtrix(note, NOTIFY_KEYS)["text"] == "BTC above €70,000.00"
        indicator = subscriber.wait_topic(f"{CLOCK}/indicator1")
        assert check_awtrix(indicator, INDICATOR_KEYS)["blink"] == 500
        wait_until(lambda: displays.tick(time.monotonic(), outbox) or (
            subscriber.last.get(f"{CLOCK}/indicator1") == '{"color":[0,0,0]}'))  # fmt: skip
        retained_now = retained(broker, f"{CLOCK}/#", lambda last: BTC_APP in last)
        assert f"{CLOCK}/notify" not in retained_now  # an alert is shown once, not retained
        assert f"{CLOCK}/indicator1" not in retained_now
    finally:
        outbox.close()


def test_a_reconnect_while_a_coin_waits_for_its_interval(broker: Broker) -> None:
    _displays, _state, outbox = direct_displays(broker, [])
    try:
        output = ThrottledOutput(Throttle(60.0, 0.0), lambda cid, _n: ("t", str(cid)))
        output.offer(1, {"p": 1.0}, 0.0, outbox)
        output.offer(1, {"p": 2.0}, 1.0, outbox)  # held back by the throttle
        output.reset()
        assert output.due(1000.0) == []  # nothing waits on a send that no longer counts
    finally:
        outbox.close()
