"""`herokustack import --pipeline NAME`: a pipeline as stack files, one per coupled app, and a
partial `_NAME.toml` with what they all share (`[app] pipeline` among it), which each extends.

Reads `GET /pipelines/{name}` and `GET /pipelines/{id}/pipeline-couplings`, then every kind of
each coupled app (as `import` does). Each app's stage becomes its `environment`. What the apps
share is what their own imported files have equal, key by key (never the app's name or
environment); each file then writes only what differs from the partial (`--extends` logic), so
that a plan of the files is empty. The pipeline's review-app config and stage config vars are
not written (Heroku answers the review apps' repository by its GitHub id only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli
import tomlkit

from herokustack import resources
from herokustack.importer import (
    ImportOptions,
    Written,
    _sections,
    declared_elsewhere,
    import_live,
    write_file,
)
from herokustack.resources import pipelines
from herokustack.resources.base import ImportProblem

if TYPE_CHECKING:
    from herokustack.client import HerokuClient

OWN_KEYS = {"name", "environment"}  # of [app]: each file's own, never shared


def coupled_apps(client: HerokuClient, name: str) -> list[str]:
    """The apps of pipeline `name`, by name, in stage order."""
    found = pipelines.find_pipeline(client, name)
    if found is None:
        raise ImportProblem(f"--pipeline {name}: no such pipeline (or not visible to this key)")
    couplings = client.get_list(f"{pipelines._pipeline_path(str(found['id']))}/pipeline-couplings")
    order = {stage: i for i, stage in enumerate(("test", *pipelines.STAGE_ORDER))}
    couplings.sort(key=lambda c: (order.get(str(c.get("stage")), 9), str(c.get("app"))))
    names = []
    for coupling in couplings:
        app = coupling.get("app") or {}
        names.append(str(app.get("name") or _app_name(client, str(app.get("id")))))
    if not names:
        raise ImportProblem(f"--pipeline {name}: the pipeline has no apps")
    return names


def _app_name(client: HerokuClient, app_id: str) -> str:
    info = client.app_info(app_id)
    if info is None:
        raise ImportProblem(f"app {app_id}: coupled to the pipeline, but not visible to this key")
    return info.name


def shared(docs: Sequence[Mapping[str, Any]], top: bool = True) -> dict[str, Any]:
    """The keys every document has with the same value (tables compared key by key)."""
    first, *others = docs
    common: dict[str, Any] = {}
    for key, value in first.items():
        values = [d.get(key) for d in others]
        tables = [v for v in values if isinstance(v, dict)]
        if isinstance(value, dict) and len(tables) == len(values):
            sub = shared([value, *tables], top=False)
            if top and key == "app":
                sub = {k: v for k, v in sub.items() if k not in OWN_KEYS}
            if sub:
                common[key] = sub
        elif all(v == value for v in values):
            common[key] = value
    return common


def render_partial(name: str, common: Mapping[str, Any]) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"What the apps of pipeline {name} share (herokustack import)."))
    owners = {k.section: k for k in resources.KINDS if k.section}
    for section in _sections():
        owners[section].write_section(doc, common.get(section) or {}, ())
    return tomlkit.dumps(doc)


def import_pipeline(
    client: HerokuClient, name: str, out: Path | None, overwrite: bool
) -> tuple[Path, list[Written]]:
    """Write the partial and one file per app; (the partial's path, what was written)."""
    from herokustack.resources import read_apps

    out_dir = out or Path("stacks")
    if out_dir == Path("-") or out_dir.suffix == ".toml":
        raise ImportProblem("--pipeline writes several files: --out must be a directory")
    names = coupled_apps(client, name)
    partial = out_dir / f"_{name}.toml"
    todo = {app: out_dir / f"{app}.toml" for app in names}
    _check_targets(todo, partial, overwrite)
    lives = read_apps(client, names)
    alone = [tomli.loads(import_live(lives[app]).text) for app in names]
    common = shared(alone)
    options = ImportOptions(extends=partial.name, base=common)
    imported = {app: import_live(lives[app], options) for app in names}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_file(partial, render_partial(name, common))
    written = []
    for app in names:
        write_file(todo[app], imported[app].text)
        written.append(Written(app, todo[app], imported[app]))
    return partial, written


def _check_targets(todo: Mapping[str, Path], partial: Path, overwrite: bool) -> None:
    elsewhere = declared_elsewhere(todo)
    for app, path in elsewhere.items():
        raise ImportProblem(f"{path} already declares app {app}")
    for path in [partial, *todo.values()]:
        if path.exists() and not overwrite:
            raise ImportProblem(f"{path} already exists (pass --overwrite to replace it)")
