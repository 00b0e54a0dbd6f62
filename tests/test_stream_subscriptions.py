"""One connection's subscription book, without sockets: what to request after a change, what an
ack grants, what CoinMarketCap may have billed. The same rules run over real sockets in
test_session.py and test_pool.py."""

from __future__ import annotations

from cmc_mqtt.stream.frames import Ack
from cmc_mqtt.stream.subscriptions import Granted, SubscriptionBook


def ack(request_id: int, sub_count: int | None) -> Ack:
    return Ack(request_id, 0, "Success", sub_count, 100, duplicate=False)


def test_a_new_connection_asks_for_every_wanted_id_once() -> None:
    book = SubscriptionBook((1, 1027, 5))
    book.new_connection()
    assert book.changed
    assert book.requests_due() == ((1, 1027, 5), ())
    assert not book.changed
    book.sent(1, "subscribe", (1, 1027, 5), now=0.0)
    assert book.requests_due() == ((), ())  # asked for already: not again


def test_a_change_of_ids_requests_only_the_difference() -> None:
    book = SubscriptionBook((1, 2, 3))
    book.new_connection()
    book.sent(1, "subscribe", book.requests_due()[0], now=0.0)
    assert book.acknowledged(ack(1, 3)) == Granted("subscribe", 3)
    book.want((2, 3, 4))
    assert book.changed
    assert book.requests_due() == ((4,), (1,))
    book.sent(2, "subscribe", (4,), now=1.0)
    book.sent(3, "unsubscribe", (1,), now=1.0)
    assert book.acknowledged(ack(3, 2)) == Granted("unsubscribe", 2)
    assert book.acknowledged(ack(2, 3)) == Granted("subscribe", 3)
    assert book.granted() == (2, 3, 4)


def test_the_bill_grows_by_sub_count_or_by_ids_and_counts_unanswered_subscribes() -> None:
    book = SubscriptionBook((1, 2, 3))
    book.new_connection()
    book.sent(1, "subscribe", (1, 2), now=0.0)
    book.acknowledged(ack(1, 2))
    assert book.billed == 2
    book.sent(2, "subscribe", (3,), now=0.0)
    book.acknowledged(ack(2, None))  # no sub_count: each id
    assert book.billed == 3
    book.sent(3, "subscribe", (4, 5), now=0.0)  # never answered: may have been billed
    book.new_connection()
    assert book.billed == 5
    assert book.pending == {}
    assert book.granted() == ()  # a new connection holds nothing
    assert book.ever_granted


def test_an_answer_to_no_request_of_ours_settles_nothing() -> None:
    book = SubscriptionBook((1,))
    assert book.acknowledged(ack(7, 1)) is None
    assert book.acknowledged(Ack(None, 0, "pong", None, None, duplicate=False)) is None
    assert book.refused(None) is None
    assert book.billed == 0


def test_a_request_left_unanswered_too_long_is_overdue() -> None:
    book = SubscriptionBook((1,))
    book.sent(1, "subscribe", (1,), now=10.0)
    assert book.overdue(now=19.0, timeout=10.0) is None
    late = book.overdue(now=20.5, timeout=10.0)
    assert late is not None
    assert late.method == "subscribe"
    refused = book.refused(1)
    assert refused is not None
    assert refused.ids == (1,)
    assert book.overdue(now=30.0, timeout=10.0) is None
