"""CoinMarketCap's REST API, the part the bridge uses, on the fake stream's own port.

The real REST host is `pro-api.coinmarketcap.com`; paths, parameters, the key header, the
`{"status": ..., "data": ...}` envelope, HTTP statuses and error codes follow CoinMarketCap's
documentation. Credits: `/v1/key/info` and `/v1/cryptocurrency/map` cost none, `/v1/fiat/map` one
("1 API call credit per request no matter query size"), `/v2/tools/price-conversion` one plus one
per `convert` target beyond the first. Every call with a valid key counts against the minute's
rate limit, key/info included, as documented.
"""

from __future__ import annotations

import math
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from .billing import REFUSAL_MESSAGES, CreditLedger, iso
from .catalog import (
    FIAT_BY_ID,
    FIAT_BY_SYMBOL,
    FIATS,
    coin_listing,
    coins_with_symbol,
    fiat_entry,
    listed_ids,
    map_entry,
)
from .hub import Hub

KEY_HEADER: Final = "x-cmc_pro_api_key"
KEY_PARAM: Final = "CMC_PRO_API_KEY"
MAX_LIMIT: Final = 5000
MAX_CONVERT: Final = 120


class RestError(Exception):
    """An answer other than 200, in CoinMarketCap's error shape."""

    def __init__(self, http_status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.error_code = error_code
        self.message = message


def bad_request(message: str) -> RestError:
    return RestError(400, 400, message)


Params = dict[str, str]


class RestApi:
    """Answers one GET at a time; shares the hub's ledgers, market, coins and rates."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._routes: dict[str, Callable[[Params, CreditLedger], tuple[Any, int]]] = {
            "/v1/key/info": self.key_info,
            "/v1/cryptocurrency/map": self.cryptocurrency_map,
            "/v1/fiat/map": self.fiat_map,
            "/v2/tools/price-conversion": self.price_conversion,
        }

    def answer(self, request_line: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one request."""
        started = time.monotonic()
        try:
            handler, params = self._route(request_line)
            ledger = self._authorise(headers.get(KEY_HEADER) or params.pop(KEY_PARAM, ""))
            data, credits = handler(params, ledger)
            if credits:
                refusal = ledger.charge(credits)
                if refusal is not None:
                    self._hub.keys.refuse_key(ledger, refusal)
            return 200, self._envelope(started, credits, data=data)
        except RestError as exc:
            body = self._envelope(started, 0, code=exc.error_code, message=exc.message)
            return exc.http_status, body

    def _route(
        self, request_line: str
    ) -> tuple[Callable[[Params, CreditLedger], tuple[Any, int]], Params]:
        method, path, params = _parse(request_line)
        handler = self._routes.get(path)
        if handler is None:
            raise RestError(404, 404, "Not found")
        if method != "GET":
            raise RestError(405, 405, "Method not allowed")
        return handler, params

    def _authorise(self, key: str) -> CreditLedger:
        if not key:
            raise RestError(401, 1002, "API key missing.")
        if self._hub.api_key is not None and key != self._hub.api_key:
            raise RestError(401, 1001, "This API Key is invalid.")
        ledger = self._hub.ledger(key)
        if not ledger.count_request():
            raise RestError(
                429, 1008, "You've exceeded your API Key's HTTP request rate limit. "
                "Rate limits reset every minute.",
            )  # fmt: skip
        refusal = ledger.refusal()
        if refusal is not None:
            raise RestError(429, int(refusal), REFUSAL_MESSAGES[refusal])
        return ledger

    def _envelope(
        self,
        started: float,
        credits: float,
        *,
        data: Any = None,
        code: int = 0,
        message: str | None = None,
    ) -> dict[str, Any]:
        status = {
            "timestamp": iso(self._hub.clock()),
            "error_code": code,
            "error_message": message,
            "elapsed": int((time.monotonic() - started) * 1000),
            "credit_count": int(credits),
            "notice": None,
        }
        return {"status": status} if code else {"status": status, "data": data}

    # --- endpoints: each returns (data, credits) ------------------------------------------------

    def key_info(self, params: Params, ledger: CreditLedger) -> tuple[Any, int]:
        del params
        return ledger.key_info(), 0

    def cryptocurrency_map(self, params: Params, ledger: CreditLedger) -> tuple[Any, int]:
        del ledger
        statuses = {s.strip() for s in (params.get("listing_status") or "active").split(",")}
        unknown = statuses - {"active", "inactive", "untracked"}
        if unknown:
            raise bad_request(f'Invalid value for "listing_status": "{",".join(sorted(unknown))}"')
        sort = _choice(params, "sort", "id", ("id", "cmc_rank"))
        market = self._hub.market
        ids = listed_ids(self._hub.coins) if "active" in statuses else []
        symbols = params.get("symbol")
        if symbols:
            wanted = {s.strip().upper() for s in symbols.split(",") if s.strip()}
            ids = [cid for cid in ids if coin_listing(cid).symbol in wanted]
        if sort == "cmc_rank":
            ids.sort(key=market.rank)
        return [map_entry(cid, market) for cid in _page(ids, params)], 0

    def fiat_map(self, params: Params, ledger: CreditLedger) -> tuple[Any, int]:
        del ledger
        sort = _choice(params, "sort", "id", ("id", "name"))
        fiats = sorted(FIATS, key=(lambda f: f.id) if sort == "id" else (lambda f: f.name))
        return [fiat_entry(f) for f in _page(fiats, params)], 1

    def price_conversion(self, params: Params, ledger: CreditLedger) -> tuple[Any, int]:
        """v2: `id` gives one object, `symbol` a list of every coin with that symbol."""
        del ledger
        if params.get("time"):
            # Historical conversions need a Standard plan or better; the Startup key has none.
            raise RestError(
                403, 1006, "Your API Key subscription plan doesn't support this endpoint."
            )
        amount = _amount(params)
        targets = self._targets(params)
        if params.get("id"):
            try:
                base = int(params["id"])
            except ValueError:
                raise bad_request(f'Invalid value for "id": "{params["id"]}"') from None
            if self._usd_value(base) is None:
                raise bad_request(f'Invalid value for "id": "{base}"')
            data: Any = self._conversion(base, amount, targets)
        elif params.get("symbol"):
            symbol = params["symbol"].strip().upper()
            bases = coins_with_symbol(symbol, listed_ids(self._hub.coins))
            if symbol in FIAT_BY_SYMBOL:
                bases.append(FIAT_BY_SYMBOL[symbol].id)
            if not bases:
                raise bad_request(f'Invalid value for "symbol": "{symbol}"')
            data = [self._conversion(base, amount, targets) for base in bases]
        else:
            raise bad_request('"value" must contain at least one of [id, symbol]')
        return data, len(targets)

    def _targets(self, params: Params) -> list[tuple[str, int]]:
        """(quote key, currency id) for each conversion target."""
        if params.get("convert") and params.get("convert_id"):
            raise bad_request('"convert" and "convert_id" cannot be used together')
        out: list[tuple[str, int]] = []
        if params.get("convert_id"):
            for part in params["convert_id"].split(","):
                try:
                    cid = int(part)
                except ValueError:
                    raise bad_request(f'Invalid value for "convert_id": "{part}"') from None
                if self._usd_value(cid) is None:
                    raise bad_request(f'Invalid value for "convert_id": "{part}"')
                out.append((str(cid), cid))
        else:
            for part in (params.get("convert") or "USD").split(","):
                symbol = part.strip().upper()
                found = self._currency_id(symbol)
                if found is None:
                    raise bad_request(f'Invalid value for "convert": "{part}"')
                out.append((symbol, found))
        if len(out) > MAX_CONVERT:
            raise bad_request(f'"convert" must contain at most {MAX_CONVERT} items')
        return out

    def _currency_id(self, symbol: str) -> int | None:
        if symbol in FIAT_BY_SYMBOL:
            return FIAT_BY_SYMBOL[symbol].id
        ids = coins_with_symbol(symbol, listed_ids(self._hub.coins))
        return min(ids, key=self._hub.market.rank) if ids else None

    def _usd_value(self, cid: int) -> float | None:
        """US dollars one unit of this currency is worth, None when it is not known."""
        fiat = FIAT_BY_ID.get(cid)
        if fiat is not None:
            rate = self._hub.fiat_rates.get(fiat.symbol)
            return 1.0 / rate if rate else None
        coins = self._hub.coins
        if (coins is not None and cid not in coins) or cid < 1:
            return None
        return self._hub.price_usd(cid)

    def _conversion(self, base: int, amount: float, targets: list[tuple[str, int]]) -> Any:
        now = iso(self._hub.clock())
        fiat = FIAT_BY_ID.get(base)
        coin = coin_listing(base)
        worth = amount * (self._usd_value(base) or 0.0)
        quote = {}
        for key, cid in targets:
            unit = self._usd_value(cid)
            quote[key] = {"price": worth / unit if unit else None, "last_updated": now}
        return {
            "id": base,
            "symbol": fiat.symbol if fiat else coin.symbol,
            "name": fiat.name if fiat else coin.name,
            "amount": amount,
            "last_updated": now,
            "quote": quote,
        }


def _parse(request_line: str) -> tuple[str, str, Params]:
    parts = request_line.split()
    if len(parts) != 3:
        raise bad_request("Malformed request line")
    method, target, _ = parts
    url = urllib.parse.urlsplit(target)
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    return method, url.path.rstrip("/") or "/", dict(pairs)


def _amount(params: Params) -> float:
    text = params.get("amount")
    if not text:
        raise bad_request('"amount" is required')
    try:
        amount = float(text)
    except ValueError:
        raise bad_request('"amount" must be a number') from None
    if not math.isfinite(amount):
        raise bad_request('"amount" must be a number')
    return amount


def _int_param(params: Params, name: str, default: int | None, low: int, high: int) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f'"{name}" must be a number') from None
    if value < low:
        raise bad_request(f'"{name}" must be larger than or equal to {low}')
    if value > high:
        raise bad_request(f'"{name}" must be less than or equal to {high}')
    return value


def _choice(params: Params, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = params.get(name) or default
    if value not in allowed:
        raise bad_request(f'"{name}" must be one of [{", ".join(allowed)}]')
    return value


def _page(entries: list[Any], params: Params) -> list[Any]:
    start = _int_param(params, "start", 1, 1, 1 << 31) or 1
    limit = _int_param(params, "limit", None, 1, MAX_LIMIT)
    return entries[start - 1 : None if limit is None else start - 1 + limit]
