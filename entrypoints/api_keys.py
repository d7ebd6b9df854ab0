"""The API keys clients present: parsed once from the settings, compared in constant time.

An entry is `key`, `name:key` or `name:key:admin`. A lone key may go unnamed (it is `key1`)
and is admin; with several, each needs a name. The name is what logs, limits and session
cookies carry: a key itself never leaves this module in a message, a log line or a repr.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from entrypoints.settings import Settings, SettingsError

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Visible ASCII but the separators: a key must survive a header, Basic's user:password
# and a comma-separated list.
_KEY = re.compile(r"[\x21-\x7e]{1,256}")
_SEPARATORS = frozenset(",:")
# Changing this label signs every browser out, as changing the keys does.
_SESSION_LABEL = b"local-sd session signing v1"


@dataclass(frozen=True)
class ApiKey:
    name: str
    admin: bool
    digest: bytes = field(repr=False)
    """SHA-256 of the key: every comparison then takes the same time, whatever the lengths."""


class ApiKeys:
    """The configured keys; empty means the service runs without authentication."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._keys = tuple(keys)
        self._by_name = {key.name: key for key in self._keys}

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"ApiKeys(names={[key.name for key in self._keys]})"

    def match(self, candidate: str) -> ApiKey | None:
        """The key equal to ``candidate``, comparing against every key so timing tells nothing."""
        digest = hashlib.sha256(candidate.encode("utf-8", "surrogateescape")).digest()
        found: ApiKey | None = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def named(self, name: str) -> ApiKey | None:
        return self._by_name.get(name)

    def session_secret(self) -> bytes:
        """A signing secret only these keys produce: sessions survive a restart, and
        changing the keys (or a name, or who is admin) signs everyone out."""
        mac = hmac.new(_SESSION_LABEL, digestmod=hashlib.sha256)
        for key in self._keys:
            mac.update(f"{key.name}\0{int(key.admin)}\0".encode())
            mac.update(key.digest)
        return mac.digest()


@dataclass(frozen=True)
class _Entry:
    text: str
    where: str
    """Where the entry came from, for messages: `API_KEYS entry 2` or `<file> line 3`."""


def keys_from_settings(settings: Settings) -> ApiKeys:
    """API_KEYS then API_KEYS_FILE; a SettingsError names the entry or file line at fault."""
    entries: list[_Entry] = []
    if settings.api_keys is not None:
        raw = settings.api_keys.get_secret_value()
        entries += [
            _Entry(text.strip(), f"API_KEYS entry {number}")
            for number, text in enumerate(raw.split(","), start=1)
            if text.strip()
        ]
        if not entries:
            raise SettingsError("Invalid setting API_KEYS: it holds no key.")
    if settings.api_keys_file is not None:
        entries += _file_entries(settings.api_keys_file)
    return _keys_from(entries)


def _file_entries(path: Path) -> list[_Entry]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SettingsError(f"Invalid setting API_KEYS_FILE: {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not UTF-8"
        raise SettingsError(
            f"Invalid setting API_KEYS_FILE: {path} cannot be read ({reason})."
        ) from None
    entries = [
        _Entry(line.strip(), f"API_KEYS_FILE {path} line {number}")
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    if not entries:
        raise SettingsError(
            f"Invalid setting API_KEYS_FILE: {path} holds no key (one `key`, `name:key` "
            "or `name:key:admin` per line)."
        )
    return entries


def _keys_from(entries: Iterable[_Entry]) -> ApiKeys:
    parsed = [(*_parse(entry), entry.where) for entry in entries]
    keys: list[ApiKey] = []
    names: set[str] = set()
    digests: set[bytes] = set()
    lone = len(parsed) == 1
    for name, secret, admin, where in parsed:
        if name is None and not lone:
            # A name by position would move to the next key when one is removed, and with
            # it the jobs and images that name owns.
            raise SettingsError(
                f"Invalid setting {where}: with several keys each needs a name (name:key)."
            )
        name = name or "key1"
        if name in names:
            raise SettingsError(f"Invalid setting {where}: the name {name!r} is used twice.")
        digest = hashlib.sha256(secret.encode()).digest()
        if digest in digests:
            raise SettingsError(f"Invalid setting {where}: the same key is listed twice.")
        names.add(name)
        digests.add(digest)
        keys.append(ApiKey(name, admin or lone, digest))
    return ApiKeys(keys)


_FORMAT = "expected `key`, `name:key` or `name:key:admin`"


def _parse(entry: _Entry) -> tuple[str | None, str, bool]:
    """(name, key, admin); the message never repeats the entry, which holds a key."""
    parts = entry.text.split(":")
    if len(parts) > 3 or (len(parts) == 3 and parts[2].strip().lower() != "admin"):
        raise SettingsError(f"Invalid setting {entry.where}: {_FORMAT}.")
    name = parts[0].strip() if len(parts) > 1 else None
    secret = parts[1].strip() if len(parts) > 1 else parts[0].strip()
    if name is not None and not _NAME.fullmatch(name):
        raise SettingsError(
            f"Invalid setting {entry.where}: a name is 1-64 letters, digits, '.', '_' "
            f"or '-' ({_FORMAT})."
        )
    if not _KEY.fullmatch(secret) or _SEPARATORS & set(secret):
        raise SettingsError(
            f"Invalid setting {entry.where}: a key is 1-256 visible ASCII characters "
            f"without ',' or ':' ({_FORMAT})."
        )
    return name, secret, len(parts) == 3
