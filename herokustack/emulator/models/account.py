"""The one account of the emulator: `/account`, `/users/{account}`."""

from __future__ import annotations

from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import ApiError, Json, Store, not_found

ACCOUNT_EMAIL = "you@herokustack.local"
ACCOUNT_ID = catalog.stable_id("account", ACCOUNT_EMAIL)


class AccountState(Store):
    def account(self) -> Json:
        return {
            "allow_tracking": True,
            "beta": False,
            "created_at": catalog.CATALOG_TIME,
            "country_of_residence": None,
            "default_organization": None,
            "default_team": None,
            "delinquent_at": None,
            "email": ACCOUNT_EMAIL,
            "federated": False,
            "id": ACCOUNT_ID,
            "identity_provider": None,
            "last_login": catalog.CATALOG_TIME,
            "name": "Herokustack Local",
            "sms_number": None,
            "suspended_at": None,
            "two_factor_authentication": False,
            "updated_at": catalog.CATALOG_TIME,
            "verified": True,
        }

    def get_user(self, ident: str) -> Json:
        """`/users/{account}`: `~` (the caller), or the account's email or id."""
        if ident not in ("~", ACCOUNT_EMAIL, ACCOUNT_ID):
            raise not_found("Couldn't find that user.")
        return self.account()


def _refuse_account_delete(call: Call) -> Json:
    raise ApiError(403, "forbidden", "The emulated account cannot be deleted.")


def routes(b: AccountState) -> Sequence[Endpoint]:
    return (
        Endpoint("/account", "GET", lambda c: b.account()),
        Endpoint("/account", "DELETE", _refuse_account_delete),
        Endpoint("/users/{account}", "GET", lambda c: b.get_user(c.params["account"])),
    )


FAMILY = Family("account", routes=routes)
