"""The product a reviewer sees: the apps of one pipeline, together and in stage order.

`in_stage_order` puts the stack files of each pipeline (`[app] pipeline`) together, where the
first of them was, in Heroku's stage order (review, development, staging, production), so that
plan and apply show them so; apps in no pipeline keep their places. `product_lines` is the
pipeline's section of a text plan, `product_markdown` the one of a Markdown plan, with a
Mermaid diagram (stages → apps → their add-ons) that GitHub draws in a pull-request comment.
No HTTP here: only the stack files and the plan.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

from herokustack.planner import AppPlan, Plan
from herokustack.render import summary_text
from herokustack.resources.pipelines import STAGE_ORDER
from herokustack.stackfile import Stack


@dataclasses.dataclass(frozen=True)
class Product:
    pipeline: str
    stacks: tuple[Stack, ...]  # in stage order


def _stage_rank(stack: Stack) -> int:
    return STAGE_ORDER.index(stack.spec.app.environment)


def pipeline_name(stack: Stack) -> str | None:
    name = stack.spec.app.pipeline
    return name if isinstance(name, str) else None


def products(stacks: Sequence[Stack]) -> list[Product]:
    """Each pipeline the stacks declare, its apps in stage order (stable within a stage)."""
    names = list(dict.fromkeys(n for s in stacks if (n := pipeline_name(s))))
    return [
        Product(
            name, tuple(sorted((s for s in stacks if pipeline_name(s) == name), key=_stage_rank))
        )
        for name in names
    ]


def in_stage_order(stacks: Sequence[Stack]) -> list[Stack]:
    """The stacks with each pipeline's apps together, in stage order, where its first app was."""
    by_name = {p.pipeline: p.stacks for p in products(stacks)}
    ordered: list[Stack] = []
    for stack in stacks:
        name = pipeline_name(stack)
        if name is None:
            ordered.append(stack)
        elif name in by_name:
            ordered += by_name.pop(name)
    return ordered


def _apps(plan: Plan) -> dict[str, AppPlan]:
    return {a.app: a for a in plan.apps}


def product_lines(plan: Plan, stacks: Sequence[Stack]) -> list[tuple[str, str]]:
    """(title, text) of each pipeline with planned apps: its apps by stage, their changes."""
    planned = _apps(plan)
    sections = []
    for product in products(stacks):
        apps = [s for s in product.stacks if s.name in planned]
        if not apps:
            continue
        chain = " → ".join(f"{s.name} ({s.spec.app.environment})" for s in apps)
        changes = sum((planned[s.name].summary for s in apps[1:]), planned[apps[0].name].summary)
        sections.append((f"Pipeline {product.pipeline}", f"{chain}\n{summary_text(changes)}\n"))
    return sections


def _label(text: str) -> str:
    """A Mermaid node label: quoted, its own quotes and brackets as entities."""
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def mermaid(product: Product, planned: dict[str, AppPlan]) -> list[str]:
    """`flowchart LR`: one node per stage, promotion arrows between them, each app under its
    stage, and each app's add-ons (local name and plan) under the app."""
    apps = [s for s in product.stacks if s.name in planned]
    stages = list(dict.fromkeys(s.spec.app.environment for s in apps))
    lines = ["flowchart LR", f"  subgraph pipeline[{_label('pipeline ' + product.pipeline)}]"]
    lines += [f"    stage_{stage}[{_label(stage)}]" for stage in stages]
    lines += [f"    stage_{a} -->|promote| stage_{b}" for a, b in itertools.pairwise(stages)]
    lines.append("  end")
    for index, stack in enumerate(apps):
        counts = summary_text(planned[stack.name].summary)
        lines.append(f"  app{index}[{_label(f'{stack.name}: {counts}')}]")
        lines.append(f"  stage_{stack.spec.app.environment} --- app{index}")
        for local, addon in stack.spec.addons.items():
            node = f"app{index}_{local.replace('-', '_')}"
            lines.append(f"  app{index} --- {node}[({_label(f'{local}: {addon.plan}')})]")
    return lines


def product_markdown(plan: Plan, stacks: Sequence[Stack]) -> list[str]:
    """One Markdown section per pipeline with planned apps: the diagram, then the apps."""
    from herokustack.markdown import cell, code_block

    planned = _apps(plan)
    parts = []
    for product in products(stacks):
        apps = [s for s in product.stacks if s.name in planned]
        if not apps:
            continue
        chain = " → ".join(f"`{cell(s.name)}` ({s.spec.app.environment})" for s in apps)
        diagram = code_block(mermaid(product, planned), "mermaid")
        parts.append(f"#### Pipeline `{cell(product.pipeline)}`\n\n{chain}\n\n{diagram}")
    return parts
