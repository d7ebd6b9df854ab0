"""API_KEYS and API_KEYS_FILE: entries, names, admin, errors that name the line, never the key."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from entrypoints.api_keys import ApiKeys, keys_from_settings
from entrypoints.settings import SettingsError
from tests.conftest import make_settings


def keys(tmp_path: Path, **values: Any) -> ApiKeys:
    if "api_keys" in values:
        values["api_keys"] = SecretStr(values["api_keys"])
    return keys_from_settings(make_settings(tmp_path, **values))


def test_no_setting_means_no_keys(tmp_path: Path) -> None:
    assert not keys(tmp_path).enabled


def test_entries_with_names(tmp_path: Path) -> None:
    found = keys(tmp_path, api_keys="alice:alice-key, root:root-key:admin")
    assert len(found) == 2
    alice, root = found.match("alice-key"), found.match("root-key")
    assert alice is not None and (alice.name, alice.admin) == ("alice", False)
    assert root is not None and (root.name, root.admin) == ("root", True)
    assert found.match("alice") is None
    assert found.match("alice-key ") is None
    assert found.match("") is None
    assert found.named("alice") == alice


def test_a_lone_key_needs_no_name_but_several_keys_do(tmp_path: Path) -> None:
    lone = keys(tmp_path, api_keys="just-a-key").match("just-a-key")
    assert lone is not None and (lone.name, lone.admin) == ("key1", True)
    # Named by position, removing one key would give its name, and the jobs and images
    # that name owns, to the next.
    with pytest.raises(SettingsError, match="entry 1: with several keys each needs a name"):
        keys(tmp_path, api_keys="first-key, alice:alice-key")


def test_a_lone_key_is_admin(tmp_path: Path) -> None:
    only = keys(tmp_path, api_keys="bob:bob-key").match("bob-key")
    assert only is not None and only.admin
    two = keys(tmp_path, api_keys="bob:bob-key,carol:carol-key").match("bob-key")
    assert two is not None and not two.admin


def test_file_entries_follow_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(
        "\ufeff# the studio\r\n\r\nann:ann-key\r\n  ben:ben-key  \r\n", encoding="utf-8"
    )
    found = keys(tmp_path, api_keys="zed:zed-key", api_keys_file=path)
    assert [(found.match(k) or _none()).name for k in ("zed-key", "ann-key", "ben-key")] == [
        "zed",
        "ann",
        "ben",
    ]


def test_no_key_is_ever_shown(tmp_path: Path) -> None:
    found = keys(tmp_path, api_keys="alice:very-secret-key")
    key = found.match("very-secret-key")
    assert "very-secret-key" not in repr(found) + repr(key) + str(key)


@pytest.mark.parametrize(
    ("entries", "where"),
    [
        ("ok-key,alice:a:b:c", "API_KEYS entry 2"),
        ("alice:key:root", "API_KEYS entry 1"),
        ("al ice:the-key", "API_KEYS entry 1"),
        ("alice:", "API_KEYS entry 1"),
        ("alice:k\u00e9y", "API_KEYS entry 1"),
        ("alice:one-key,alice:two-key", "API_KEYS entry 2"),
        ("ann:one-key,bob:one-key", "API_KEYS entry 2"),
        (" , ", "API_KEYS"),
    ],
)
def test_malformed_entries_name_where_never_what(tmp_path: Path, entries: str, where: str) -> None:
    with pytest.raises(SettingsError) as raised:
        keys(tmp_path, api_keys=entries)
    message = str(raised.value)
    assert where in message and "\n" not in message
    for secret in ("one-key", "two-key", "the-key", "k\u00e9y", ":b:c"):
        assert secret not in message


def test_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text("ann:ann-key\n# note\nben:ben:key\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"keys\.txt line 3") as raised:
        keys(tmp_path, api_keys_file=path)
    assert "ben:key" not in str(raised.value)


@pytest.mark.parametrize("content", [None, "", "# only a comment\n\n", b"\xff\xfe\x00"])
def test_missing_empty_or_unreadable_files(tmp_path: Path, content: str | bytes | None) -> None:
    path = tmp_path / "keys.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match="API_KEYS_FILE") as raised:
        keys(tmp_path, api_keys_file=path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text("ann:ann-key\n", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(SettingsError, match="cannot be read"):
        keys(tmp_path, api_keys_file=path)


def test_the_session_secret_follows_the_keys(tmp_path: Path) -> None:
    first = keys(tmp_path, api_keys="alice:alice-key").session_secret()
    assert keys(tmp_path, api_keys="alice:alice-key").session_secret() == first
    assert keys(tmp_path, api_keys="alice:other-key").session_secret() != first
    assert keys(tmp_path, api_keys="alicia:alice-key").session_secret() != first


def _none() -> Any:
    raise AssertionError("no key matched")


def test_new_key_prints_an_entry_the_settings_accept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.cli import main

    assert main(["new-key", "alice", "--admin"]) == 0
    entry = capsys.readouterr().out.strip()
    name, key, _ = entry.split(":")
    found = keys(tmp_path, api_keys=f"{entry},bob:other-key").match(key)
    assert found is not None and (found.name, found.admin) == (name, True)
    assert main(["new-key", "a b"]) == 2
