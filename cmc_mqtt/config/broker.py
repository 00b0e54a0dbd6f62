"""A broker's address as people write it: `host`, `host:port`, `[::1]:1883`, `mqtt://host:port`
or `mqtts://host:port` (TLS), split into host, port and TLS.

`[mqtt] host`, `CMC_MQTT_MQTT_HOST`, the add-on's `mqtt_host` and `init`'s question all read it
here, so a URL never reaches the connection as a host name (where it would fail as an unknown
host, again and again). What cannot be a broker's address is refused with the fix.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from ..model.bounds import shown
from .validators import MAX_HOST_CHARS

#: The schemes that name an MQTT broker, and whether each means TLS.
SCHEMES: Final = {"mqtt": False, "mqtts": True}
PLAIN_PORT: Final = 1883
TLS_PORT: Final = 8883
#: What to write instead, said with every refusal.
FORMS: Final = "write the host alone, host:port, mqtt://host:port or mqtts://host:port (TLS)"
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)


class AddressError(ValueError):
    """Not a broker's address: `reason` says why. `login`: the text holds a login, so it is
    never repeated."""

    def __init__(self, reason: str, *, login: bool = False) -> None:
        self.reason = reason
        self.login = login
        super().__init__(reason)

    def line(self, where: str, text: str) -> str:
        """The problem as one line naming `where` (an option), with the fix."""
        got = "" if self.login else f" (got {shown(text)})"
        return f"{where}: {self.reason}{got}; {FORMS}"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """What the text said: `port` None when it names none, `tls` None when it has no scheme."""

    host: str
    port: int | None = None
    tls: bool | None = None

    def default_port(self) -> int:
        """The usual port for the scheme: 8883 for mqtts://, else 1883."""
        return TLS_PORT if self.tls else PLAIN_PORT


def parse_address(text: str) -> BrokerAddress:
    """`text` as a broker's address, or `AddressError`."""
    if "@" in text:
        raise AddressError(
            "a login does not belong in the address (it would be shown wherever the address "
            "is); give it in the username and password options",
            login=True,
        )
    scheme = _SCHEME.fullmatch(text)
    if scheme is None:
        return _host_and_port(text)
    name, rest = scheme.group(1).lower(), scheme.group(2)
    if name not in SCHEMES:
        raise AddressError(f"{name}:// does not name an MQTT broker")
    authority, _, path = rest.partition("/")
    if path or any(mark in authority for mark in "?#"):
        raise AddressError("a broker's address has no path, query or fragment")
    address = _host_and_port(authority)
    return BrokerAddress(address.host, address.port, SCHEMES[name])


def _host_and_port(text: str) -> BrokerAddress:
    """`host`, `host:port`, an IPv6 address alone or `[v6]:port`."""
    if "/" in text:
        raise AddressError("a broker's address has no path")
    if text.startswith("["):
        inside, bracket, after = text[1:].partition("]")
        if not bracket or not _is_ipv6(inside):
            raise AddressError("an IPv6 address is written [address] or [address]:port")
        if not after:
            return BrokerAddress(inside)
        if not after.startswith(":"):
            raise AddressError(f"expected :port after [{inside}]")
        return BrokerAddress(inside, _port(after[1:]))
    if text.count(":") > 1:  # an IPv6 address without brackets: no port
        if not _is_ipv6(text):
            raise AddressError("more than one ':' (an IPv6 address with a port is [address]:port)")
        return BrokerAddress(text)
    host, sep, port = text.partition(":")
    if not host:
        raise AddressError("names no host")
    if len(host) > MAX_HOST_CHARS:
        raise AddressError(f"a host name is longer than {MAX_HOST_CHARS} characters")
    return BrokerAddress(host, _port(port) if sep else None)


def _is_ipv6(text: str) -> bool:
    """An IPv6 address, with a zone (`fe80::1%eth0`) or without."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise AddressError("the part after ':' is not a port number (1-65535)")
    return int(text)
