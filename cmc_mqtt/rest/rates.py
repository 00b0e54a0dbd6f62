"""The exchange rate from CoinMarketCap's REST API: `/v2/tools/price-conversion` (1 credit a call)
for the `coinmarketcap` source, as a job for the REST worker, offered to the `RateKeeper`; and
what those calls cost in a month.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from ..model.fiats import USD_ID, Fiat
from ..money.rate import FxSettings, RateError, RateKeeper, parse_rate
from ..util.secret import Secret
from .client import Cancel, Cancelled, RestError
from .fiats import CREDITS_FIAT_MAP, FiatDirectory
from .paid import Spend, get_paid_json

LOG = logging.getLogger(__name__)
CONVERSION_PATH: Final = "/v2/tools/price-conversion"
#: Credits: a conversion with one target costs one; the fiat map one "no matter query size".
CREDITS_PER_RATE: Final = 1


def fetch_rate(
    api_key: Secret,
    rest_url: str,
    target: Fiat | str,
    *,
    timeout: float,
    cancel: Cancel | None = None,
    spend: Spend | None = None,
) -> Decimal:
    """Units of `target` one US dollar buys, by CoinMarketCap (1 credit, told to `spend`). A
    verified fiat is asked for by id (`convert_id`), anything else by its code (`convert`).
    `RestError` when the call fails, `RateError` when the answer holds no usable rate."""
    params: dict[str, str | int] = {"amount": 1, "id": USD_ID}
    if isinstance(target, Fiat) and target.verified:
        params["convert_id"] = target.id
        key = str(target.id)
    else:
        key = target.code if isinstance(target, Fiat) else target.strip().upper()
        params["convert"] = key
    body = get_paid_json(
        rest_url,
        CONVERSION_PATH,
        params,
        api_key,
        price=CREDITS_PER_RATE,
        spend=spend,
        timeout=timeout,
        cancel=cancel,
    )
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("id") != USD_ID:
        raise RateError("no rate in the answer", "not a conversion from USD")
    quote = data.get("quote")
    entry = quote.get(key) if isinstance(quote, dict) else None
    if not isinstance(entry, dict) or "price" not in entry:
        raise RateError("no rate in the answer", f"no quote for {key}")
    return parse_rate(entry["price"])


class CmcRateSource:
    """The REST worker's job for the `coinmarketcap` source: resolve the code (first run),
    then fetch the rate and offer it to the keeper. Schedule it with
    `worker.schedule(source, every=interval)`.

    `spend` is told of every call that may have cost credits. `pause()` (a credit budget
    spent) makes each run skip its call, so the rate goes stale and converted values go
    `offline`; `resume()` lets the calls run again, at once through `run_soon` when given."""

    #: The most one run can spend: the fiat map (first run only) and a conversion.
    credits_per_run: Final = CREDITS_FIAT_MAP + CREDITS_PER_RATE

    def __init__(
        self,
        keeper: RateKeeper,
        directory: FiatDirectory,
        api_key: Secret,
        rest_url: str,
        *,
        timeout: float = 10.0,
        spend: Spend | None = None,
        run_soon: Callable[[Callable[[Cancel], None]], None] | None = None,
    ) -> None:
        self._keeper = keeper
        self._directory = directory
        self._api_key = api_key
        self._rest_url = rest_url
        self._timeout = timeout
        self._spend = spend
        self._run_soon = run_soon
        self._paused = threading.Event()
        self._fiat: Fiat | str | None = None
        self._failing = False
        self.calls = 0  # conversion calls made (each one credit)
        self.skipped = 0  # runs that made no call while paused

    def pause(self) -> None:
        """No paid call from the next run on (a call in flight still ends)."""
        self._paused.set()

    def resume(self) -> None:
        if not self._paused.is_set():
            return
        self._paused.clear()
        if self._run_soon is not None:
            self._run_soon(self)

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def __call__(self, cancel: Cancel) -> None:
        code = self._keeper.currency
        if self._paused.is_set():
            self.skipped += 1
            LOG.debug("the %s/USD rate is not fetched: the credit budget is spent", code)
            return
        try:
            if self._fiat is None:
                fiat = self._directory.resolve(
                    code,
                    self._api_key,
                    self._rest_url,
                    timeout=self._timeout,
                    cancel=cancel,
                    spend=self._spend,
                )
                if fiat is None:
                    LOG.warning("%s is not in CoinMarketCap's fiat map; asking by its code", code)
                self._fiat = fiat or code
            self.calls += 1
            rate = fetch_rate(
                self._api_key,
                self._rest_url,
                self._fiat,
                timeout=self._timeout,
                cancel=cancel,
                spend=self._spend,
            )
        except Cancelled:
            return
        except (RestError, RateError) as exc:
            level = logging.DEBUG if self._failing else logging.WARNING
            LOG.log(level, "could not get the %s/USD rate from CoinMarketCap: %s", code, exc)
            self._failing = True
            return
        if self._failing:
            LOG.info("the %s/USD rate comes from CoinMarketCap again", code)
            self._failing = False
        self._keeper.offer(rate, "coinmarketcap")


def monthly_credits(settings: FxSettings, *, seconds: float = 30 * 86400.0) -> float:
    """What the rate costs in a month (`check-config`, and the credit meter's baseline before
    it has watched the calls long enough): one credit per CoinMarketCap call,
    plus the fiat map's one when its cache is not there yet (counted: the estimate errs on the
    side of cost). Nothing for the other sources or USD."""
    if not settings.converts or settings.source != "coinmarketcap":
        return 0.0
    return math.ceil(seconds / settings.interval) * CREDITS_PER_RATE + CREDITS_FIAT_MAP
