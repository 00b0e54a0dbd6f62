"""A string that refuses to show itself, so the API key cannot leak through logs or `repr`."""

from __future__ import annotations

from typing import Final

#: Keys that are no secrets: the simulator takes any key, and these are the ones the examples,
#: the demo and the docs use. The log does not mask them and a readable file holding one is fine.
PLACEHOLDER_KEYS: Final = frozenset({"simulator", "demo", "your-key"})


class Secret:
    """Holds a secret value; only `reveal()` returns it."""

    __slots__ = ("_value",)
    MASK: Final = "**********"

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def fits_a_header(self) -> bool:
        """Whether it can be sent as an HTTP header value as it is: visible ASCII only. A
        CR or LF would end the header and start another (header injection), and a refusal
        from the HTTP library would repeat the value in its message."""
        return bool(self._value) and all("!" <= char <= "~" for char in self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.MASK!r})"

    def __str__(self) -> str:
        return self.MASK

    def __format__(self, spec: str) -> str:
        return self.MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key to disk in clear; nothing in the bridge needs it.
        raise TypeError("Secret values cannot be pickled")
