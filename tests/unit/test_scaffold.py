"""``durableruns init`` keeps ``.durableruns/`` (the dev secret keys) out of git: it
writes or extends ``.gitignore``, once."""

from __future__ import annotations

from pathlib import Path

from durableruns.cli.scaffold import keep_state_out_of_git


def test_a_new_gitignore_is_written(tmp_path: Path) -> None:
    assert keep_state_out_of_git(tmp_path) == tmp_path / ".gitignore"
    assert ".durableruns/" in (tmp_path / ".gitignore").read_text().splitlines()


def test_an_existing_gitignore_is_extended_once(tmp_path: Path) -> None:
    ignore = tmp_path / ".gitignore"
    ignore.write_text(".venv/\n__pycache__/")  # no newline at the end
    assert keep_state_out_of_git(tmp_path) == ignore
    assert keep_state_out_of_git(tmp_path) is None
    lines = ignore.read_text().splitlines()
    assert lines[:2] == [".venv/", "__pycache__/"]
    assert lines.count(".durableruns/") == 1


def test_an_already_ignored_state_dir_is_left_alone(tmp_path: Path) -> None:
    for entry in (".durableruns", "/.durableruns/"):
        (tmp_path / ".gitignore").write_text(f"{entry}\n")
        assert keep_state_out_of_git(tmp_path) is None
        assert (tmp_path / ".gitignore").read_text() == f"{entry}\n"
