"""The official CLI's `pipelines` commands against the emulator: one batch, the state it leaves.

`reviewapps:enable` / `:disable` are tested in tests/e2e/test_pipelines.py, with the drift of
a stack file declaring `[pipeline.review_apps]`.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        not installed(),
        reason="the official heroku CLI is not installed (run `make node`) or node is missing",
    ),
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_official_cli_pipelines_create_add_info_update_remove(
    emu: EmulatorServer, http: httpx.Client, tmp_path: Path
) -> None:
    for name in ("clip-staging", "clip-prod"):
        http.post("/teams/apps", json={"name": name, "team": "acme"}).raise_for_status()
    done = run_heroku_batch(
        emu,
        [
            ["pipelines:create", "clip", "-a", "clip-staging", "--stage", "staging", "-t", "acme"],
            ["pipelines:add", "clip", "-a", "clip-prod", "--stage", "development"],
            ["pipelines"],
            ["pipelines:update", "-a", "clip-prod", "--stage", "production"],
            ["pipelines:info", "clip"],
            ["apps:info", "-a", "clip-prod"],
            ["pipelines:remove", "-a", "clip-staging"],
            ["pipelines:info", "clip", "--json"],
            ["pipelines:rename", "clip", "clip-two"],
            ["pipelines:destroy", "clip-two"],
        ],
        tmp_path,
    )
    out = [ANSI.sub("", d.stdout + d.stderr) for d in done]
    assert all(d.returncode == 0 for d in done), out
    created, added, listed, updated, info, app_info, removed, as_json, renamed, destroyed = out
    assert "Creating clip pipeline" in created and "as staging" in created
    assert "Adding clip-prod to clip pipeline as development" in added
    assert re.search(r"^clip$", listed, re.M), listed
    assert "Changing clip-prod to production" in updated
    assert "owner: acme (team)" in info, info
    assert re.search(r"clip-staging\s+staging", info) and re.search(r"clip-prod\s+production", info)
    assert re.search(r"Pipeline:\s+clip - production", app_info), app_info
    assert "Removing clip-staging" in removed
    assert '"clip-prod"' in as_json and "clip-staging" not in as_json
    assert "Renaming clip pipeline to clip-two" in renamed
    assert "Destroying clip-two pipeline" in destroyed
    # What the commands left, as the API answers it: the pipeline gone, its apps uncoupled.
    assert [p["name"] for p in http.get("/pipelines").json()] == []
    assert http.get("/apps/clip-prod/pipeline-couplings").status_code == 404
