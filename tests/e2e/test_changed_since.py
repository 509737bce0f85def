"""`--changed-since REF` in a temporary git repository: changed files, files extending a
changed partial, untracked files; then `plan --changed-since` through the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from e2e_helpers import Cli, stack_doc, unique_name

from herokustack.errors import HerokustackError
from herokustack.gitchanges import select_changed


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """main: stacks/_base, _web (extends _base), a (extends _web), b (extends _base), c."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "CI")
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    base = {"app": {"region": "us"}, "config": {"PYTHONUNBUFFERED": "1"}}
    files = {"_base": write(stacks / "_base.toml", base)}
    files["_web"] = write(
        stacks / "_web.toml",
        {"extends": "_base.toml", "formation": {"web": {"quantity": 1, "size": "standard-1x"}}},
    )
    for key, parent in (("a", "_web.toml"), ("b", "_base.toml"), ("c", None)):
        doc = stack_doc(unique_name(key))
        del doc["addons"], doc["config"]["SECRET_KEY"]
        if parent:
            doc = {"extends": parent, **doc}
        files[key] = write(stacks / f"{key}.toml", doc)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "stacks")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    monkeypatch.chdir(tmp_path)
    return {k: v.relative_to(tmp_path) for k, v in files.items()}


def candidates(files: dict[str, Path]) -> list[Path]:
    return [files["a"], files["b"], files["c"]]


def test_changed_file_and_files_extending_a_changed_partial(repo: dict[str, Path]):
    assert select_changed(candidates(repo), "main") == []
    repo["c"].write_text(repo["c"].read_text() + "\n# touched\n")
    assert select_changed(candidates(repo), "main") == [repo["c"]]
    git(Path("."), "commit", "-qam", "c")
    repo["_web"].write_text(repo["_web"].read_text() + "\n# touched\n")
    assert select_changed(candidates(repo), "main") == [repo["a"], repo["c"]]
    git(Path("."), "checkout", "-q", "--", "stacks/_web.toml")
    repo["_base"].write_text(repo["_base"].read_text() + "\n# touched\n")
    assert select_changed(candidates(repo), "main") == [repo["a"], repo["b"], repo["c"]]


def test_untracked_file_counts_and_unknown_ref_is_clear(repo: dict[str, Path]):
    new = write(Path("stacks/d.toml"), stack_doc(unique_name("d")))
    assert select_changed([*candidates(repo), new], "main") == [new]
    with pytest.raises(HerokustackError) as caught:
        select_changed(candidates(repo), "origin/nope")
    assert "--changed-since origin/nope: not a commit of this repository" in str(caught.value)


def test_plan_changed_since_through_the_cli(repo: dict[str, Path], cli: Cli):
    nothing = cli("plan", "--changed-since", "main", "--format", "json")
    assert nothing.exit_code == 0, nothing.output
    assert "no stack file changed since main" in nothing.stderr
    assert json.loads(nothing.stdout)["apps"] == []

    repo["b"].write_text(repo["b"].read_text().replace("quantity = 2", "quantity = 3", 1))
    result = cli("plan", "--changed-since", "main", "--format", "json", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    assert [a["path"] for a in doc["apps"]] == ["stacks/b.toml"]
    assert [f["path"] for f in doc["stack_files"]] == ["stacks/b.toml", "stacks/_base.toml"]
