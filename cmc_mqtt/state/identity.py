"""Where one configuration keeps its memory: `state.json` (coins and holdings changed at run
time, the connection layout, the month's credits) and the caches of coin names and fiat ids.

Every part that remembers something asks here, so that which folder belongs to which
configuration is decided in one place.

One configuration, one memory. A configuration is whom it talks to and where it publishes: the
API key, the stream URL, the REST URL and the topic prefix. Its memory is the folder
`<cache_dir>/config-<16 hex digits>`, the digits a keyed BLAKE2b hash of those four. The key
itself is in no folder name, file or log line: the hash is keyed with a constant of ours and cut
to 64 bits, so it neither shows the key nor helps anyone guess it. A run against the simulator,
or with another key, URL or prefix, never sees another's coins, holdings, credits or names.
`identity.json` in the folder says which stream, REST URL and prefix it belongs to, for a person
looking (URLs without user, password, query or fragment; the key as its fingerprint).

Versions up to 0.2 kept one memory for every configuration: `<cache_dir>/state.json`,
`coins.json` and `fiats.json`, which carry no identity. So they are adopted by one configuration
only, the first to start that talks to CoinMarketCap itself: its key is not a placeholder
(`util.secret.PLACEHOLDER_KEYS`, the simulator's and the demo's) and neither its stream URL nor its
REST URL is on this machine (a loopback host, where the simulator runs). Each file is moved into
that configuration's folder, unless the folder has that file already; once moved, no other
configuration can see it. The simulator, the demo and tests never adopt: they start with a
memory of their own, and a shared file waits where it is for a real configuration.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from ..config import Settings
from ..rest.fiats import CACHE_FILE as FIAT_CACHE
from ..rest.names import CACHE_FILE as NAME_CACHE
from ..util.jsonfile import (
    Unreadable,
    clean_temporaries,
    read_json,
    set_aside,
    write_json_atomically,
)
from ..util.secret import PLACEHOLDER_KEYS
from .memory import STATE_FILE

LOG = logging.getLogger(__name__)

FOLDER_PREFIX: Final = "config-"
IDENTITY_FILE: Final = "identity.json"
#: What every configuration shared before each had its own memory.
LEGACY_FILES: Final = (STATE_FILE, NAME_CACHE, FIAT_CACHE)
_HASH_KEY: Final = b"cmc-mqtt: one configuration, one memory"
_IDENTITY_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class Identity:
    """What makes two configurations the same one, the key only as its fingerprint."""

    key: str  # `fingerprint(api key)`
    stream_url: str
    rest_url: str
    topic_prefix: str

    @classmethod
    def of(cls, settings: Settings) -> Identity:
        return cls(
            fingerprint(settings.stream.api_key.reveal()),
            settings.stream.url.strip().rstrip("/"),
            settings.names.rest_url.strip().rstrip("/"),
            settings.mqtt.topic_prefix,
        )

    @property
    def folder(self) -> str:
        parts = json.dumps([self.key, self.stream_url, self.rest_url, self.topic_prefix])
        return FOLDER_PREFIX + _hash(parts, b"folder")

    def described(self) -> dict[str, str]:
        """For `identity.json`: nothing secret, enough for a person to recognise it."""
        return {
            "stream_url": shown_url(self.stream_url),
            "rest_url": shown_url(self.rest_url),
            "topic_prefix": self.topic_prefix,
            "key_fingerprint": self.key,
        }


def fingerprint(api_key: str) -> str:
    """16 hex digits that tell keys apart and reveal nothing of them."""
    return _hash(api_key, b"api key")


def memory_path(settings: Settings) -> Path | None:
    """This configuration's folder, without touching the disk; None: remember nothing."""
    cache_dir = settings.names.cache_dir
    return None if cache_dir is None else cache_dir / Identity.of(settings).folder


def memory_dir(settings: Settings) -> Path | None:
    """The folder for this configuration's memory, made ready for a run: created, the shared
    files of earlier versions adopted when they are this configuration's to adopt (see the
    module's docstring), the temporary files of killed writes removed. None: remember nothing
    (no cache folder configured, or it cannot be made: said once in the log)."""
    folder = memory_path(settings)
    if folder is None:
        return None
    try:
        _make_folder(folder)
    except OSError as exc:
        LOG.warning(
            "cannot make the folder %s for what this configuration remembers (%s): "
            "nothing is remembered in this run",
            folder, exc.strerror or exc,
        )  # fmt: skip
        return None
    cache_dir = folder.parent
    if adopts_legacy(settings):
        _adopt(cache_dir, folder)
    elif shared := [name for name in LEGACY_FILES if os.path.lexists(cache_dir / name)]:
        LOG.info(
            "not using %s in %s, which every configuration shared before: left for a "
            "configuration against CoinMarketCap itself (this one has its own memory, %s)",
            ", ".join(shared), cache_dir, folder.name,
        )  # fmt: skip
    clean_temporaries(folder)
    clean_temporaries(cache_dir)  # earlier versions wrote there
    _describe(folder, Identity.of(settings))
    return folder


def reading_folder(settings: Settings, name: str) -> Path | None:
    """The folder the next run reads `name` (one of `LEGACY_FILES`) from: this
    configuration's own, or the cache folder while a shared file there waits for it."""
    folder = memory_path(settings)
    if folder is None or os.path.lexists(folder / name):
        return folder
    if adopts_legacy(settings) and os.path.lexists(folder.parent / name):
        return folder.parent
    return folder


def adopts_legacy(settings: Settings) -> bool:
    """Whether this configuration takes over the memory every configuration shared before:
    only one that talks to CoinMarketCap itself."""
    key = settings.stream.api_key.reveal().strip()
    urls = (settings.stream.url, settings.names.rest_url)
    return bool(key) and key not in PLACEHOLDER_KEYS and not any(map(is_local, urls))


def is_local(url: str) -> bool:
    """A URL whose host is this machine (or that names no host at all)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return True
    if not host:
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def shown_url(url: str) -> str:
    """`url` without user, password, query or fragment (a key could hide in any)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _hash(text: str, person: bytes) -> str:
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=8, key=_HASH_KEY, person=person).hexdigest()


def _make_folder(folder: Path) -> None:
    """Create `folder`; something else in its place (a file, a dangling link) is set aside."""
    if os.path.lexists(folder) and not folder.is_dir():
        set_aside(folder, "memory folder", "not a folder", outcome="made a new one")
    folder.mkdir(parents=True, exist_ok=True)


def _adopt(cache_dir: Path, folder: Path) -> None:
    for name in LEGACY_FILES:
        shared, own = cache_dir / name, folder / name
        if not os.path.lexists(shared):
            continue
        if os.path.lexists(own):
            LOG.info("left %s where it is: this configuration has its own %s", shared, name)
            continue
        try:
            os.rename(shared, own)
        except FileNotFoundError:
            continue  # another bridge starting now took it
        except OSError as exc:
            LOG.warning("could not adopt %s into %s (%s)", shared, folder, exc.strerror or exc)
            continue
        LOG.info(
            "adopted %s, shared by every configuration before, as this configuration's %s",
            shared, own,
        )  # fmt: skip


def _describe(folder: Path, identity: Identity) -> None:
    """Write `identity.json` when it is missing or says something else."""
    path = folder / IDENTITY_FILE
    wanted = identity.described()
    try:
        if read_json(path, max_bytes=_IDENTITY_BYTES) == wanted:
            return
    except Unreadable:
        pass  # replaced below
    try:
        write_json_atomically(path, wanted)
    except (OSError, ValueError) as exc:
        LOG.debug("could not write %s: %s", path, exc)
