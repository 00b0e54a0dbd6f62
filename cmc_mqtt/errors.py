"""One exception root, so callers can catch everything the bridge raises on purpose."""

from __future__ import annotations

from typing import Final

#: The exit status of every command for a configuration it cannot use (a bad file, a refused
#: login, an untrusted certificate): a person must act, a restart alone will not help (the
#: systemd unit does not restart on it).
EXIT_CONFIG: Final = 2
#: Any other failure (a bug, an environment nothing foresaw): a restart may well help, and the
#: systemd unit and the add-on's Supervisor restart on it.
EXIT_FAILURE: Final = 1


class CmcMqttError(Exception):
    """Root of every error cmc-mqtt raises deliberately."""


class ConfigError(CmcMqttError):
    """The configuration is unusable; `problems` holds one line per problem, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class FrameError(CmcMqttError):
    """A server frame that cannot be used; it is counted and dropped, never fatal."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StreamError(CmcMqttError):
    """The stream connection failed.

    `permanent` failures (bad key, plan without WebSocket access, too many connections) need a
    person to act, so they are retried rarely instead of in a loop.
    """

    def __init__(self, message: str, *, permanent: bool = False, code: int | str | None = None):
        self.permanent = permanent
        self.code = code
        super().__init__(message)


class PortBusyError(CmcMqttError):
    """Another program holds the address one of our servers would listen on: a person must free
    it or choose another port, so commands exit with `EXIT_CONFIG`."""

    def __init__(self, server: str, host: str, port: int) -> None:
        self.server = server  # what could not start, e.g. "the fake CoinMarketCap server"
        self.host = host
        self.port = port
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # IPv6 in brackets
        super().__init__(f"could not start {server}: {where} is already in use by another program")
