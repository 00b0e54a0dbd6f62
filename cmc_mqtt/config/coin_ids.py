"""`crypto_ids` as people write it: CoinMarketCap ids, or symbols (`"BTC"`) read as the id of
the coin they name.

The stream takes ids only, and symbols are not unique (several coins call themselves HOT), so a
symbol is taken only where it names one coin: in the configuration's own `[coins.<id>] symbol`,
in the bundled table of well-known coins, or in this configuration's cached CoinMarketCap map
(the caller passes that one in: the cache's folder is the state wing's to find). Anything else
is refused with the ids it might have meant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..model.coins import BUNDLED_COINS, CoinInfo
from ..util.spelling import close_spellings

if TYPE_CHECKING:
    from .settings import Settings

#: The coins each symbol names (upper case), as far as a source knows them.
SymbolTable = Mapping[str, Sequence[CoinInfo]]
#: Where a run would find more symbols than the bundled table: given the settings so far (the
#: ids given as ids), the coins of the cached CoinMarketCap map. Called only for symbols the
#: configuration and the bundled table do not know.
SymbolSource = Callable[["Settings"], SymbolTable]
_SUGGESTIONS: Final = 3


@dataclass(frozen=True, slots=True)
class CoinIds:
    """The ids in the order given (a symbol replaced by its coin's id, repeats dropped), and
    one problem line per entry that names no coin."""

    ids: tuple[int, ...]
    problems: tuple[str, ...]
    #: The symbols no source knew: `(index, symbol)`.
    unknown: tuple[tuple[int, str], ...]


def symbol_table(coins: Iterable[CoinInfo]) -> dict[str, list[CoinInfo]]:
    """The coins by upper-case symbol."""
    table: dict[str, list[CoinInfo]] = {}
    for coin in coins:
        table.setdefault(coin.symbol.upper(), []).append(coin)
    return table


BUNDLED_SYMBOLS: Final = symbol_table(BUNDLED_COINS.values())


def resolve(given: Sequence[int | str], tables: Sequence[SymbolTable]) -> CoinIds:
    """`given` as ids: each symbol looked up in `tables`, the first that knows it winning (the
    configuration's own names first); a symbol of several coins in that table is refused."""
    ids: list[int] = []
    problems: list[str] = []
    unknown: list[tuple[int, str]] = []
    for index, entry in enumerate(given):
        if isinstance(entry, int):
            ids.append(entry)
            continue
        where = f"cmc.crypto_ids[{index}]"
        coins = next((t[entry.upper()] for t in tables if t.get(entry.upper())), None)
        if coins is None:
            unknown.append((index, entry))
            problems.append(f"{where}: {unknown_symbol(entry, tables)}")
        elif len({coin.id for coin in coins}) > 1:
            named = ", ".join(f"{c.id} ({c.name})" for c in coins[:_SUGGESTIONS])
            problems.append(
                f"{where}: {entry!r} is the symbol of several coins: {named}; give the id"
            )
        else:
            ids.append(coins[0].id)
    return CoinIds(tuple(dict.fromkeys(ids)), tuple(problems), tuple(unknown))


def unknown_symbol(word: str, tables: Sequence[SymbolTable]) -> str:
    """Why `word` names no coin, with the coins it may have meant (by symbol, name or slug)."""
    coins = {coin.id: coin for table in tables for found in table.values() for coin in found}
    spellings: dict[str, CoinInfo] = {}
    for coin in coins.values():
        for spelling in (coin.symbol, coin.name, coin.slug):
            if spelling:
                spellings.setdefault(spelling.lower(), coin)
    close = close_spellings(word.lower(), spellings, n=_SUGGESTIONS)
    meant = list({spellings[c].id: spellings[c] for c in close}.values())
    hint = ""
    if meant:
        hint = " (did you mean " + " or ".join(f"{c.symbol}, id {c.id}" for c in meant) + "?)"
    return (
        f"{word!r} is not a symbol known here{hint}: give the coin's id (its CoinMarketCap "
        "page shows it); only the bundled coins' symbols and those CoinMarketCap named in "
        "earlier runs are known"
    )
