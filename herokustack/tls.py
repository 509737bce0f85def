"""TLS certificates as Heroku reads them: a PEM chain (leaf first) and its private key.

Shared by the certificates kind (plan, check, drift) and the emulator's SNI endpoints, so both
read a chain the same way: the leaf's subject (OpenSSL's one-line form, `/O=Acme/CN=www.x.com`,
as Heroku answers it), its names (the DNS names of subjectAltName, else the common name), its
validity and the SHA-256 fingerprint of every certificate (what "the same chain" means).

`cryptography` is imported inside the functions: `validate` imports the kinds and stays quick.
A private key is only ever loaded to compare its public half; nothing here returns or quotes it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")
WARN_DAYS = 30  # `check` warns when a certificate expires within this many days
ERROR_DAYS = 7  # ... and errs within this many (or once it has expired)


class CertError(ValueError):
    """A chain or key that cannot be used, in one line that never quotes the key."""


@dataclasses.dataclass(frozen=True)
class CertInfo:
    """What a certificate chain says (its leaf's fields): public facts, safe to show and store."""

    subject: str  # "/O=Acme/CN=www.example.com"
    issuer: str
    common_name: str | None
    names: tuple[str, ...]  # DNS names it is valid for
    starts_at: datetime
    expires_at: datetime
    fingerprints: tuple[str, ...]  # SHA-256 of each certificate of the chain, leaf first

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    @property
    def label(self) -> str:
        """How a line names it: its common name, else its first name."""
        return self.common_name or (self.names[0] if self.names else self.subject or "?")

    def days_left(self, now: datetime | None = None) -> float:
        return days_left(self.expires_at, now)

    def expiry_text(self, now: datetime | None = None) -> str:
        return expiry_text(self.expires_at, now)


def days_left(expires_at: datetime, now: datetime | None = None) -> float:
    return (expires_at - (now or datetime.now(UTC))).total_seconds() / 86400


def expiry_text(expires_at: datetime, now: datetime | None = None) -> str:
    """`2027-03-01 (in 88 days)`, `2026-11-30 (expired 3 days ago)`."""
    days = days_left(expires_at, now)
    date = expires_at.strftime("%Y-%m-%d")
    if days < 0:
        return f"{date} (expired {_days(-days)} ago)"
    return f"{date} (in {_days(days)})"


def _days(days: float) -> str:
    whole = int(days)
    return "less than a day" if whole == 0 else f"{whole} day{'s' if whole != 1 else ''}"


def expiry_severity(
    expires_at: datetime, now: datetime | None = None
) -> Literal["error", "warning"] | None:
    """ "error" within ERROR_DAYS (or expired), "warning" within WARN_DAYS, else None."""
    days = days_left(expires_at, now)
    if days <= ERROR_DAYS:
        return "error"
    if days <= WARN_DAYS:
        return "warning"
    return None


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time as Heroku answers it (`2027-03-01T12:00:00Z`), None when it is not one."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def pem_blocks(chain: str) -> list[str]:
    return [m.group(0) for m in PEM_CERT.finditer(chain)]


def parse_chain(chain: str) -> CertInfo:
    """The facts of a PEM chain (leaf first); CertError when it holds no readable certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    blocks = pem_blocks(chain)
    if not blocks:
        raise CertError("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        certs = [x509.load_pem_x509_certificate(b.encode()) for b in blocks]
    except ValueError:
        raise CertError("holds a PEM certificate that cannot be read") from None
    leaf = certs[0]
    return CertInfo(
        subject=oneline(leaf.subject),
        issuer=oneline(leaf.issuer),
        common_name=_common_name(leaf),
        names=_names(leaf),
        starts_at=leaf.not_valid_before_utc,
        expires_at=leaf.not_valid_after_utc,
        fingerprints=tuple(c.fingerprint(hashes.SHA256()).hex() for c in certs),
    )


def check_key(key: str, chain: str) -> None:
    """CertError unless `key` is an unencrypted PEM private key whose public half is the leaf's."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except TypeError:
        raise CertError("is encrypted: Heroku takes the private key without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertError("is not a PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    blocks = pem_blocks(chain)
    if not blocks:
        raise CertError("has no certificate to match")
    leaf = x509.load_pem_x509_certificate(blocks[0].encode())
    form = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if private.public_key().public_bytes(der, form) != leaf.public_key().public_bytes(der, form):
        raise CertError("does not match the certificate (another key pair)")


def covers(names: Sequence[str], hostname: str) -> bool:
    """Whether a certificate valid for `names` serves `hostname` (`*.x.com` covers one label)."""
    host = hostname.lower()
    for name in (n.lower() for n in names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            head, _, rest = host.partition(".")
            if rest == name[2:] and head and head != "*":
                return True
    return False


def oneline(name: object) -> str:
    """An X.509 name the way OpenSSL prints it on one line (and Heroku answers it)."""
    parts = []
    for rdn in getattr(name, "rdns", ()):
        for attr in rdn:
            parts.append(f"{attr.rfc4514_attribute_name}={attr.value}")
    return "".join(f"/{p}" for p in parts)


def _common_name(cert: object) -> str | None:
    from cryptography.x509.oid import NameOID

    found = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)  # type: ignore[attr-defined]
    return str(found[0].value) if found else None


def _names(cert: object) -> tuple[str, ...]:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        common = _common_name(cert)
        return (common,) if common else ()
    return tuple(str(n) for n in ext.value.get_values_for_type(x509.DNSName))
