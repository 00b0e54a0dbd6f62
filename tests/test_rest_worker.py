"""The REST worker's thread exists only once it has work; the bridge asks glibc for one malloc
arena. Both keep memory the bridge has no use for out of its peak."""

from __future__ import annotations

import sys
import threading

import pytest

from cmc_mqtt.rest.client import Cancel
from cmc_mqtt.rest.worker import RestWorker
from cmc_mqtt.util import malloc


def rest_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cmc-mqtt-rest"]


def test_no_thread_until_a_job_then_it_runs() -> None:
    before = len(rest_threads())
    worker = RestWorker()
    worker.start()
    ran = threading.Event()
    try:
        assert len(rest_threads()) == before  # started, but nothing to do
        assert worker.join(0.1)  # nothing to wait for either

        def job(_cancel: Cancel) -> None:
            ran.set()

        worker.schedule(job)
        assert ran.wait(10)
        assert len(rest_threads()) == before + 1
    finally:
        worker.cancel()
        assert worker.join(5)


def test_a_job_scheduled_before_start_waits_for_it() -> None:
    worker = RestWorker()
    ran = threading.Event()
    worker.schedule(lambda _cancel: ran.set())
    assert not ran.wait(0.2)  # not started: the bridge's parts are still being built
    worker.start()
    try:
        assert ran.wait(10)
    finally:
        worker.cancel()
        assert worker.join(5)


def test_nothing_starts_after_cancel() -> None:
    before = len(rest_threads())
    worker = RestWorker()
    worker.start()
    worker.cancel()
    worker.schedule(lambda _cancel: None)
    assert len(rest_threads()) == before
    assert worker.join(0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_grants_one_arena(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert malloc.use_one_malloc_arena()  # this machine is glibc Linux


def test_a_users_malloc_arena_max_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not malloc.use_one_malloc_arena()
