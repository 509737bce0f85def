"""The stack and region catalogs: `/stacks`, `/regions` (fixed data from `catalog`)."""

from __future__ import annotations

from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models.db import Json, Store, invalid, not_found

GENERATION = {"id": catalog.stable_id("generation", "cedar"), "name": "cedar"}


class StacksState(Store):
    """Fixed data; apps and slugs run on a stack that is not retired."""

    def list_stacks(self) -> list[Json]:
        return [self._stack_json(s) for s in catalog.STACKS]

    def get_stack(self, ident: str) -> Json:
        return self._stack_json(self._find_stack(ident))

    def _find_stack(self, ident: str) -> catalog.Stack:
        stack = next((s for s in catalog.STACKS if ident in (s.name, s.id)), None)
        if stack is None:
            raise not_found("Couldn't find that stack.")
        return stack

    def _usable_stack(self, ident: str) -> catalog.Stack:
        stack = next((s for s in catalog.STACKS if ident in (s.name, s.id)), None)
        if stack is None:
            raise invalid(f"Stack {ident} is not available.")
        if stack.state == "retired":
            raise invalid(
                f"Stack {stack.name} is retired; choose a supported stack such as heroku-24."
            )
        return stack

    @staticmethod
    def _stack_json(stack: catalog.Stack) -> Json:
        return {
            "created_at": catalog.CATALOG_TIME,
            "default": stack.default,
            "id": stack.id,
            "name": stack.name,
            "state": stack.state,
            "updated_at": catalog.CATALOG_TIME,
        }

    @staticmethod
    def _stack_ref(name: str) -> Json:
        return {"id": catalog.stable_id("stack", name), "name": name}

    def list_regions(self) -> list[Json]:
        return [self._region_json(r) for r in catalog.REGIONS]

    def get_region(self, ident: str) -> Json:
        region = next((r for r in catalog.REGIONS if ident in (r.name, r.id)), None)
        if region is None:
            raise not_found("Couldn't find that region.")
        return self._region_json(region)

    @staticmethod
    def _region_json(region: catalog.Region) -> Json:
        return {
            "country": region.country,
            "created_at": catalog.CATALOG_TIME,
            "description": region.description,
            "id": region.id,
            "locale": region.locale,
            "name": region.name,
            "private_capable": False,
            "updated_at": catalog.CATALOG_TIME,
        }


def routes(b: StacksState) -> Sequence[Endpoint]:
    return (
        Endpoint("/stacks", "GET", lambda c: b.list_stacks(), list_field="id"),
        Endpoint("/stacks/{stack}", "GET", lambda c: b.get_stack(c.params["stack"])),
        Endpoint("/regions", "GET", lambda c: b.list_regions(), list_field="id"),
        Endpoint("/regions/{region}", "GET", lambda c: b.get_region(c.params["region"])),
    )


FAMILY = Family("stacks", routes=routes)
