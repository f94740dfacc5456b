"""OpenPGP keys and detached signatures for published advisories, through pysequoia (Sequoia-PGP).

CSAF 2.0 requirement 19 asks for an ASCII-armored detached OpenPGP signature (``.asc``) beside
every document, and requirement 20 for the public key to be published. This module generates
and loads the signing key, signs bytes and verifies signatures; nothing else.

Keys are generated with the RFC 4880 profile (v4 keys, Ed25519 signing subkey): v6 keys
(RFC 9580) are not understood by the GnuPG 2.2/2.4 that most consumers verify with.

It does not store keys, protect them with a passphrase, rotate or revoke them, or publish them:
the armored secret key in :class:`SigningKey` is unencrypted, and keeping it secret is the
caller's job (the ``repr`` of a key shows only its fingerprint so it cannot leak into logs).
It does not decide *whose* key to trust: :func:`verify_detached` checks a signature against the
one certificate it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pysequoia

from clearinghouse.core.errors import InputError


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    """A transferable secret key and its public certificate, both ASCII-armored.

    ``fingerprint`` is the primary key's fingerprint in upper-case hex (the form CSAF's
    ``public_openpgp_keys`` and key servers use).
    """

    secret_armored: bytes = field(repr=False)
    public_armored: str
    fingerprint: str

    def __repr__(self) -> str:
        return f"SigningKey(fingerprint={self.fingerprint!r})"

    __str__ = __repr__


def generate_signing_key(user_id: str) -> SigningKey:
    """A new key (``"Clearinghouse CSAF <csaf@clearinghouse.invalid>"``) that does not expire."""
    if not user_id.strip():
        raise InputError("signing key: the user id must not be empty")
    tsk = pysequoia.Tsk.generate(user_id, profile=pysequoia.Profile.RFC4880)
    return _from_tsk(tsk)


def load_signing_key(armored: bytes) -> SigningKey:
    """Parse an armored (or binary) secret key; it must be able to sign without a passphrase."""
    try:
        tsk = pysequoia.Tsk.from_bytes(armored)
    except RuntimeError as error:
        raise InputError(f"signing key: not an OpenPGP key ({_first_line(error)})") from None
    # A public certificate parses as a Tsk too; only asking for a signer shows whether usable
    # secret signing material is present (absent, passphrase-protected, expired or revoked).
    try:
        tsk.signer()
    except RuntimeError as error:
        raise InputError(
            "signing key: no usable secret signing key (a public certificate, a "
            f"passphrase-protected key, or an expired/revoked one): {_first_line(error)}"
        ) from None
    return _from_tsk(tsk)


def sign_detached(key: SigningKey, data: bytes) -> bytes:
    """An ASCII-armored detached signature over ``data`` (``-----BEGIN PGP SIGNATURE-----``)."""
    signer = pysequoia.Tsk.from_bytes(key.secret_armored).signer()
    return pysequoia.sign(signer, data, mode=pysequoia.SignatureMode.DETACHED, armor=True)


def verify_detached(public_cert_armored: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid signature over ``data`` by a key of the certificate.

    False for a tampered document, a signature by another key, or bytes that are not a
    signature at all; ``InputError`` only when the certificate itself cannot be parsed.
    """
    cert = _parse_cert(public_cert_armored)
    try:
        sig = pysequoia.Sig.from_bytes(signature)
    except RuntimeError:
        return False

    def store(_key_ids: list[str]) -> list[pysequoia.Cert]:
        # Offer the one certificate whatever the issuer asks for: Sequoia then rejects a
        # signature by any other key, which is the answer we want.
        return [cert]

    try:
        result = pysequoia.verify(bytes=data, store=store, signature=sig)
    except RuntimeError:
        return False
    return bool(result.valid_sigs)


def _parse_cert(armored: bytes) -> pysequoia.Cert:
    try:
        return pysequoia.Cert.from_bytes(armored)
    except RuntimeError as error:
        raise InputError(f"OpenPGP certificate: cannot be parsed ({_first_line(error)})") from None


def _from_tsk(tsk: pysequoia.Tsk) -> SigningKey:
    cert = tsk.extract_certificate()
    return SigningKey(
        secret_armored=str(tsk).encode("ascii"),
        public_armored=str(cert),
        fingerprint=cert.fingerprint.upper(),
    )


def _first_line(error: BaseException) -> str:
    """Sequoia's messages carry a Rust backtrace when RUST_BACKTRACE is set; keep the gist."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
