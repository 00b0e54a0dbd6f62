"""`bridge/info`'s payload: the id lists written from kept texts are the JSON the rest is."""

from __future__ import annotations

import json

from cmc_mqtt.extensions.info import BridgeInfo, IdListTexts
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.state.bridge_state import BridgeState


def test_the_payload_is_the_json_of_every_source() -> None:
    state = BridgeState((1, 1027, 52), Topics("cmc"))
    info = BridgeInfo(state, "9.9.9")
    connections = [
        {"ids": [1, 1027], "connected": True, "sub_count": 2},
        {"ids": [], "connected": False, "sub_count": 0},
        {"connected": False},
    ]
    info.sources["connections"] = lambda: [dict(c) for c in connections]
    info.sources["left_out"] = lambda: [52]
    for _ in range(2):  # texts made, then texts kept
        payload = json.loads(info.payload())
        assert payload["crypto_ids"] == [1, 1027, 52]
        assert payload["connections"] == connections
        assert payload["left_out"] == [52]
        assert payload["version"] == "9.9.9"


def test_id_list_texts_are_kept_while_used_and_forgotten_after() -> None:
    texts = IdListTexts()
    first = texts.text([3, 1, 2])
    assert first == "[3,1,2]"
    texts.forget_unused()
    assert texts.text((3, 1, 2)) is first  # used in the last payload: kept
    texts.forget_unused()
    texts.forget_unused()  # a payload without it
    assert texts.text([3, 1, 2]) is not first
    assert texts.text([]) == "[]"
