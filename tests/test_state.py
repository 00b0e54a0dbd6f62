from __future__ import annotations

import json

from cmc_mqtt.model.topics import Topics
from cmc_mqtt.state.bridge_state import BridgeState
from cmc_mqtt.stream.frames import QuoteFrame
from harness.helpers import wait_until


def quote(cid: int, ts: int = 1, **texts: str) -> QuoteFrame:
    return QuoteFrame(cid, ts, dict(texts))


def pending(state: BridgeState, max_coins: int = 256) -> list[tuple[str, str]]:
    """What the state hands the publisher, payloads as text (it keeps a field's as bytes)."""
    return [
        (topic, payload.decode() if isinstance(payload, bytes) else payload)
        for topic, payload in state.take_pending(max_coins=max_coins)
    ]


def republished(state: BridgeState) -> dict[str, str]:
    """What a broker that lost its retained store gets back after a reconnect."""
    state.mark_all_pending()
    messages: dict[str, str] = {}
    while batch := pending(state, max_coins=1):
        messages.update(batch)
    return messages


def make_state(*ids: int) -> tuple[BridgeState, list[int]]:
    wakes: list[int] = []
    state = BridgeState(ids or (1, 1027), Topics("cmc"))
    state.add_listener(lambda: wakes.append(1))
    return state, wakes


def test_quote_becomes_field_topics_and_json() -> None:
    state, wakes = make_state()
    assert state.apply_quote(quote(1, ts=9, p="81187.93284788371", cs="20028706"))
    assert wakes
    messages = dict(pending(state))
    assert messages["cmc/status"] == "offline"
    assert messages["cmc/1/p"] == "81187.93284788371"
    assert messages["cmc/1/cs"] == "20028706"
    assert json.loads(messages["cmc/1/json"]) == {
        "cid": 1, "p": 81187.93284788371, "cs": 20028706, "ts": 9,
    }  # fmt: skip
    assert pending(state) == []


def test_frames_coalesce_to_the_newest_value() -> None:
    state, _ = make_state()
    pending(state)
    state.apply_quote(quote(1, p="1"))
    state.apply_quote(quote(1, p="2", vu="5"))
    messages = pending(state)
    assert [m for m in messages if m[0] == "cmc/1/p"] == [("cmc/1/p", "2")]
    assert ("cmc/1/vu", "5") in messages


def test_missing_fields_keep_the_last_good_value() -> None:
    state, _ = make_state()
    state.apply_quote(quote(1, p="1", vu="5"))
    state.apply_quote(quote(1, p="2"))
    snapshot = republished(state)
    assert snapshot["cmc/1/vu"] == "5"
    assert json.loads(snapshot["cmc/1/json"])["vu"] == 5


def test_unconfigured_coins_are_counted_not_stored() -> None:
    state, wakes = make_state()
    assert not state.apply_quote(quote(99, p="1"))
    assert state.counters.unexpected_coins == 1
    assert not wakes
    assert all("/99/" not in topic for topic in republished(state))


def test_a_republish_holds_every_known_value_and_the_status() -> None:
    state, _ = make_state()
    state.set_stream_online(True)
    state.apply_quote(quote(1, p="1"))
    pending(state)
    snapshot = republished(state)
    assert snapshot["cmc/status"] == "online"
    assert snapshot["cmc/1/p"] == "1"
    # Nothing known about 1027 yet: only its status, which says so.
    assert [t for t in snapshot if t.startswith("cmc/1027/")] == ["cmc/1027/status"]
    assert snapshot["cmc/1027/status"] == "offline"
    assert snapshot["cmc/1/status"] == "online"


def test_reconnects_count_returns_after_the_first_subscription() -> None:
    state, _ = make_state()
    state.set_stream_online(True)
    state.set_stream_online(False)
    state.set_stream_online(True)
    info = state.info_fields()
    assert info["reconnects"] == 1
    assert info["stream_connected"] is True
    assert info["crypto_ids"] == [1, 1027]


def next_messages(state: BridgeState) -> list[tuple[str, str]]:
    """Run the MQTT thread's once-a-second staleness check until something is pending."""

    def poll() -> list[tuple[str, str]]:
        state.check_stale()
        return pending(state)

    result: list[tuple[str, str]] = wait_until(poll, timeout=5)
    return result


def test_a_coin_goes_offline_when_its_data_is_stale_and_back_online_with_data() -> None:
    state, _ = make_state()
    state.stale_after = 0.05
    state.apply_quote(quote(1, p="1"))
    assert ("cmc/1/status", "online") in pending(state)
    # Staleness alone publishes the status and nothing else.
    assert next_messages(state) == [("cmc/1/status", "offline")]
    state.apply_quote(quote(1, p="2"))
    messages = pending(state)
    assert ("cmc/1/status", "online") in messages
    assert ("cmc/1/p", "2") in messages


def test_fresh_coins_stay_online() -> None:
    state, _ = make_state()
    state.stale_after = 60
    state.apply_quote(quote(1, p="1"))
    pending(state)
    state.check_stale()
    assert pending(state) == []


def test_a_republish_leaves_in_bounded_batches() -> None:
    state, _ = make_state(*range(1, 11))
    for cid in range(1, 11):
        state.apply_quote(quote(cid, p="1", vu="2"))
    pending(state, max_coins=100)
    state.mark_all_pending()
    first = pending(state, max_coins=3)
    # the bridge status, then three coins: two fields, json and status each
    assert len(first) == 1 + 3 * 4
    assert state.has_pending
    rest = republished(state)
    assert len([t for t in rest if t.endswith("/p")]) == 10


def test_changed_mode_publishes_only_fields_that_changed() -> None:
    state, wakes = make_state()
    state.changed_only = True
    state.apply_quote(quote(1, p="1", vu="5"))
    pending(state)
    wakes.clear()
    state.apply_quote(quote(1, p="1", vu="6"))
    messages = dict(pending(state))
    assert messages.keys() == {"cmc/1/vu", "cmc/1/json"}
    state.apply_quote(quote(1, p="1", vu="6"))
    assert pending(state) == []
    assert len(wakes) == 1  # nothing new, nobody woken
    # a republish still sends everything known
    assert republished(state)["cmc/1/p"] == "1"


def test_a_deadband_holds_back_small_moves_but_not_their_sum() -> None:
    state = BridgeState((1,), Topics("cmc"), deadband=1.0)
    state.apply_quote(quote(1, p="100", p24h="2.0"))
    pending(state)
    state.apply_quote(quote(1, p="100.5", p24h="2.5"))  # 0.5 % and 0.5 points: held back
    assert pending(state) == []
    state.apply_quote(quote(1, p="101.2", p24h="2.9"))  # 1.2 % from the published 100
    messages = dict(pending(state))
    assert messages["cmc/1/p"] == "101.2"
    assert "cmc/1/p24h" not in messages  # 0.9 points from the published 2.0
    assert json.loads(messages["cmc/1/json"])["p24h"] == 2.9  # json carries the newest
    state.apply_quote(quote(1, p="101.3", p24h="3.0"))
    assert dict(pending(state)).keys() == {"cmc/1/p24h", "cmc/1/json"}


def test_held_quotes_wake_the_publisher_once_when_released() -> None:
    state, wakes = make_state()
    state.apply_quote(quote(1, p="1"), hold=True)
    state.apply_quote(quote(1027, p="2"), hold=True)
    assert wakes == []  # merged, nobody woken yet
    state.release_held()
    assert len(wakes) == 1
    assert {t for t, _ in pending(state)} >= {"cmc/1/p", "cmc/1027/p"}
    state.release_held()
    assert len(wakes) == 1  # nothing held any more


def test_a_quote_that_is_not_held_wakes_for_those_held_before_it() -> None:
    state, wakes = make_state()
    state.changed_only = True
    state.apply_quote(quote(1, p="1"))
    pending(state)
    wakes.clear()
    state.apply_quote(quote(1027, p="2"), hold=True)
    state.apply_quote(quote(1, p="1"))  # unchanged: nothing new of its own
    assert len(wakes) == 1
    assert [t for t, _ in pending(state) if t.endswith("/p")] == ["cmc/1027/p"]


def test_a_quote_for_a_coin_not_ours_still_wakes_for_those_held_before_it() -> None:
    state, wakes = make_state()
    state.apply_quote(quote(1, p="1"), hold=True)
    assert not state.apply_quote(quote(99, p="2"))  # not held, and not ours: dropped
    assert len(wakes) == 1
    assert "cmc/1/p" in {t for t, _ in pending(state)}
