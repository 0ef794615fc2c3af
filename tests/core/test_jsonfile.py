"""Versioned JSON documents: atomic writes, crash safety, corrupt and foreign files, locking."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from qdbm_desktop.core.errors import ConfigFileError, ReadOnlyConfigError
from qdbm_desktop.core.jsonfile import Document, JsonDocumentFile, Migration

CORRUPT_NAME = re.compile(r"^data\.json\.corrupt-\d{8}T\d{6}(-\d+)?$")


def make_file(folder: Path, version: int = 2, migrations: Mapping[int, Migration] | None=None) -> JsonDocumentFile:
    return JsonDocumentFile(folder / "data.json", version, default=lambda: {"items": []},
                            migrations=migrations or {})


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".data.json.*.tmp"))


def corrupt_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if CORRUPT_NAME.match(p.name))


# -- round trip ---------------------------------------------------------------------------------

def test_saved_document_loads_back_equal_with_version_added(tmp_path: Path) -> None:
    file = make_file(tmp_path)
    document = {"items": [1, "zwei", {"drei": None}], "name": "Zoë ✓"}

    file.save(document)

    assert make_file(tmp_path).load() == {"version": 2, **document}


def test_version_is_the_first_key_written_even_when_the_document_puts_it_last(tmp_path: Path) -> None:
    file = make_file(tmp_path)

    file.save({"items": [1], "version": 99})

    text = (tmp_path / "data.json").read_text(encoding="utf-8")
    assert list(json.loads(text)) == ["version", "items"]
    assert json.loads(text)["version"] == 2
    assert text.lstrip().startswith('{\n  "version": 2')


def test_load_of_missing_file_writes_default_document_as_valid_json_with_version(tmp_path: Path) -> None:
    file = make_file(tmp_path)

    document = file.load()

    assert document == {"version": 2, "items": []}
    on_disk = json.loads((tmp_path / "data.json").read_text(encoding="utf-8"))
    assert on_disk == {"version": 2, "items": []}
    assert file.notices == []


def test_save_leaves_no_temp_file_behind(tmp_path: Path) -> None:
    file = make_file(tmp_path)
    file.save({"items": [1]})
    file.save({"items": [2]})

    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["data.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_file_is_readable_only_by_the_user(tmp_path: Path) -> None:
    make_file(tmp_path).save({"items": []})

    assert (tmp_path / "data.json").stat().st_mode & 0o777 == 0o600


# -- interrupted writes -------------------------------------------------------------------------

def test_failed_replace_keeps_old_file_byte_identical_and_removes_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = make_file(tmp_path)
    file.save({"items": ["old"]})
    before = (tmp_path / "data.json").read_bytes()

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> NoReturn:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ConfigFileError, match="No space left on device"):
        file.save({"items": ["new"]})
    monkeypatch.undo()

    assert (tmp_path / "data.json").read_bytes() == before
    assert temp_files(tmp_path) == []
    assert make_file(tmp_path).load()["items"] == ["old"]


def test_crash_between_temp_write_and_replace_keeps_old_file(tmp_path: Path) -> None:
    file = make_file(tmp_path)
    file.save({"items": ["old"]})
    before = (tmp_path / "data.json").read_bytes()
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from qdbm_desktop.core.jsonfile import JsonDocumentFile

        def crash(src, dst):
            os._exit(9)  # the process dies: no cleanup, no finally blocks

        os.replace = crash
        file = JsonDocumentFile(Path({str(tmp_path / "data.json")!r}), 2, default=lambda: {{"items": []}})
        file.save({{"items": ["new"]}})
        print("save returned")
        """
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 9, result.stderr
    assert "save returned" not in result.stdout
    assert (tmp_path / "data.json").read_bytes() == before
    # The crash really happened mid-write: the new document sits complete in the temp file.
    leftovers = temp_files(tmp_path)
    assert len(leftovers) == 1
    assert json.loads(leftovers[0].read_text(encoding="utf-8"))["items"] == ["new"]
    reopened = make_file(tmp_path)
    assert reopened.load() == {"version": 2, "items": ["old"]}
    assert reopened.notices == []


def test_stale_temp_files_are_removed_on_load_and_young_ones_kept(tmp_path: Path) -> None:
    file = make_file(tmp_path)
    file.save({"items": []})
    stale = tmp_path / ".data.json.abc123.tmp"
    young = tmp_path / ".data.json.def456.tmp"
    other = tmp_path / ".other.json.ghi789.tmp"
    for leftover in (stale, young, other):
        leftover.write_text("{}", encoding="utf-8")
    old = time.time() - 120
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    os.utime(young, (time.time() - 5, time.time() - 5))

    make_file(tmp_path).load()

    assert not stale.exists()
    assert young.exists()
    assert other.exists(), "temp files of another document are not this file's business"


# -- corrupt files ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]\n", "does not hold a JSON object"),
        (b'{"items": [1]}\n', "version field is missing or invalid"),
        (b'{"version": "2", "items": [1]}\n', "version field is missing or invalid"),
        (b'{"version": 0, "items": [1]}\n', "version field is missing or invalid"),
        (b'{"version": true, "items": [1]}\n', "version field is missing or invalid"),
        (b"", "not valid JSON"),
    ],
    ids=["not-json", "json-list", "no-version", "string-version", "version-zero", "bool-version", "empty"],
)
def test_corrupt_file_is_kept_aside_with_bytes_intact_and_a_fresh_default_written(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "data.json").write_bytes(content)
    file = make_file(tmp_path)

    document = file.load()

    assert document == {"version": 2, "items": []}
    kept = corrupt_files(tmp_path)
    assert len(kept) == 1
    assert kept[0].read_bytes() == content
    assert json.loads((tmp_path / "data.json").read_text(encoding="utf-8")) == {"version": 2, "items": []}
    assert len(file.notices) == 1
    notice = file.notices[0]
    assert "data.json" in notice
    assert kept[0].name in notice
    assert reason in notice


def test_two_corrupt_files_in_the_same_second_are_both_kept(tmp_path: Path) -> None:
    for content in (b"{first", b"{second"):
        (tmp_path / "data.json").write_bytes(content)
        make_file(tmp_path).load()

    kept = corrupt_files(tmp_path)
    assert sorted(p.read_bytes() for p in kept) == [b"{first", b"{second"]


# -- newer and older formats --------------------------------------------------------------------

def test_file_from_newer_version_is_loaded_read_only_and_save_refused_leaving_it_untouched(tmp_path: Path) -> None:
    content = b'{"version": 7, "items": ["from the future"], "extra": {"x": 1}}\n'
    (tmp_path / "data.json").write_bytes(content)
    file = make_file(tmp_path)

    document = file.load()

    assert document["items"] == ["from the future"]
    assert file.read_only
    assert len(file.notices) == 1
    assert "newer" in file.notices[0] and "read-only" in file.notices[0]
    with pytest.raises(ReadOnlyConfigError, match="newer"):
        file.save({"items": ["overwritten"]})
    assert (tmp_path / "data.json").read_bytes() == content
    assert corrupt_files(tmp_path) == []


def test_older_version_with_migration_is_migrated_and_backed_up(tmp_path: Path) -> None:
    content = b'{"version": 1, "things": ["a", "b"]}\n'
    (tmp_path / "data.json").write_bytes(content)

    def v1_to_v2(document: Document) -> Document:
        return {"version": 1, "items": document.pop("things")}

    file = make_file(tmp_path, version=2, migrations={1: v1_to_v2})

    document = file.load()

    assert document == {"version": 2, "items": ["a", "b"]}
    on_disk = json.loads((tmp_path / "data.json").read_text(encoding="utf-8"))
    assert on_disk == {"version": 2, "items": ["a", "b"]}
    backup = tmp_path / "data.json.v1.bak"
    assert backup.read_bytes() == content
    assert len(file.notices) == 1
    assert "format 1 to 2" in file.notices[0] and "data.json.v1.bak" in file.notices[0]
    assert not file.read_only


def test_migrations_run_in_order_across_several_versions(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_bytes(b'{"version": 1, "log": []}')
    migrations = {
        1: lambda d: {**d, "log": d["log"] + ["1->2"]},
        2: lambda d: {**d, "log": d["log"] + ["2->3"]},
    }
    file = JsonDocumentFile(tmp_path / "data.json", 3, default=dict, migrations=migrations)

    assert file.load() == {"version": 3, "log": ["1->2", "2->3"]}
    assert (tmp_path / "data.json.v1.bak").exists()


def test_older_version_without_migration_is_set_aside_as_corrupt(tmp_path: Path) -> None:
    content = b'{"version": 1, "things": ["a"]}\n'
    (tmp_path / "data.json").write_bytes(content)
    file = make_file(tmp_path, version=2, migrations={})

    document = file.load()

    assert document == {"version": 2, "items": []}
    kept = corrupt_files(tmp_path)
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert "format 1 is unknown" in file.notices[0]
    assert kept[0].name in file.notices[0]


# -- locking ------------------------------------------------------------------------------------

def test_lock_serialises_read_modify_write_of_two_threads(tmp_path: Path) -> None:
    make_file(tmp_path).save({"count": 0})
    errors: list[BaseException] = []

    def worker() -> None:
        file = make_file(tmp_path)  # each thread its own instance, like the GUI and the CLI
        try:
            for _ in range(50):
                with file.locked():
                    document = file.load()
                    time.sleep(0.001)  # widen the window a lost update would need
                    document["count"] += 1
                    file.save(document)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which fails the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert make_file(tmp_path).load()["count"] == 100


def test_repeated_loads_of_a_newer_file_give_the_read_only_notice_once(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_bytes(b'{"version": 7, "items": []}')
    file = make_file(tmp_path)

    for _ in range(3):
        file.load()

    assert len(file.notices) == 1
