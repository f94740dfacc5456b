"""OpenPGP signing: round trip, tamper detection, GnuPG interoperability, no secret in repr."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearinghouse.advisories.signing import (
    SigningKey,
    generate_signing_key,
    load_signing_key,
    sign_detached,
    verify_detached,
)
from clearinghouse.core.errors import InputError

USER_ID = "Clearinghouse CSAF <csaf@clearinghouse.invalid>"
DOCUMENT = b'{"document": {"tracking": {"id": "CH-2026-0001"}}}\n'


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(USER_ID)


def test_round_trip(key: SigningKey) -> None:
    signature = sign_detached(key, DOCUMENT)
    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert verify_detached(key.public_armored.encode(), DOCUMENT, signature)


def test_tampered_data_does_not_verify(key: SigningKey) -> None:
    signature = sign_detached(key, DOCUMENT)
    assert not verify_detached(key.public_armored.encode(), DOCUMENT.replace(b"1", b"2"), signature)


def test_signature_by_another_key_does_not_verify(key: SigningKey) -> None:
    other = generate_signing_key("Someone Else <else@example.invalid>")
    signature = sign_detached(other, DOCUMENT)
    assert not verify_detached(key.public_armored.encode(), DOCUMENT, signature)


@pytest.mark.parametrize("signature", [b"", b"not a signature", b"\x00\x01\x02"])
def test_garbage_signature_is_false_not_an_exception(key: SigningKey, signature: bytes) -> None:
    assert not verify_detached(key.public_armored.encode(), DOCUMENT, signature)


def test_public_certificate_is_not_a_signature(key: SigningKey) -> None:
    cert = key.public_armored.encode()
    assert not verify_detached(cert, DOCUMENT, cert)


def test_unparsable_certificate_is_an_input_error(key: SigningKey) -> None:
    signature = sign_detached(key, DOCUMENT)
    with pytest.raises(InputError, match="certificate"):
        verify_detached(b"garbage", DOCUMENT, signature)


def test_key_survives_export_and_reload(key: SigningKey) -> None:
    reloaded = load_signing_key(key.secret_armored)
    assert reloaded.fingerprint == key.fingerprint
    assert verify_detached(key.public_armored.encode(), DOCUMENT, sign_detached(reloaded, DOCUMENT))


def test_fingerprint_is_upper_case_hex_as_in_csaf_metadata(key: SigningKey) -> None:
    assert len(key.fingerprint) == 40
    assert key.fingerprint == key.fingerprint.upper()
    int(key.fingerprint, 16)
    assert key.public_armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert key.secret_armored.startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")


@pytest.mark.parametrize(
    "armored",
    [b"", b"garbage", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP BLOCK-----\n"],
)
def test_load_garbage_is_an_input_error(armored: bytes) -> None:
    with pytest.raises(InputError, match="signing key"):
        load_signing_key(armored)


def test_load_public_certificate_is_an_input_error(key: SigningKey) -> None:
    with pytest.raises(InputError, match="no usable secret signing key"):
        load_signing_key(key.public_armored.encode())


def test_repr_and_str_do_not_leak_the_secret(key: SigningKey) -> None:
    secret_body = max(key.secret_armored.decode().splitlines(), key=len)  # key material
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert key.fingerprint in text
        assert "PRIVATE" not in text
        assert secret_body not in text


def test_empty_user_id_is_refused() -> None:
    with pytest.raises(InputError):
        generate_signing_key("  ")


# --- interoperability: a consumer verifies with GnuPG, not with our code ---------------------

GPG = shutil.which("gpg") or ("/usr/bin/gpg" if Path("/usr/bin/gpg").exists() else None)


def _gpg(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert GPG is not None
    return subprocess.run(
        [GPG, "--homedir", str(home), "--batch", "--no-tty", *args],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "LC_ALL": "C", "LANGUAGE": "C"},  # the assertions read English text
    )


@pytest.fixture
def gnupg_home(tmp_path: Path) -> Iterator[Path]:
    if GPG is None:
        pytest.skip("GnuPG (gpg) is not installed; CI installs it")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    yield home
    # --import starts a gpg-agent for this home directory; do not leave it running.
    gpgconf = shutil.which("gpgconf")
    if gpgconf is not None:
        subprocess.run(
            [gpgconf, "--homedir", str(home), "--kill", "all"], capture_output=True, check=False
        )


def test_gnupg_verifies_our_signature_and_rejects_a_tampered_file(
    key: SigningKey, gnupg_home: Path, tmp_path: Path
) -> None:
    home = gnupg_home
    (tmp_path / "key.asc").write_text(key.public_armored)
    imported = _gpg(home, "--import", str(tmp_path / "key.asc"))
    assert imported.returncode == 0, imported.stderr.decode()

    document = tmp_path / "ch-2026-0001.json"
    document.write_bytes(DOCUMENT)
    signature = tmp_path / "ch-2026-0001.json.asc"
    signature.write_bytes(sign_detached(key, DOCUMENT))

    good = _gpg(home, "--verify", str(signature), str(document))
    assert good.returncode == 0, good.stderr.decode()
    assert b"Good signature" in good.stderr

    document.write_bytes(DOCUMENT + b" ")
    bad = _gpg(home, "--verify", str(signature), str(document))
    assert bad.returncode != 0
    assert b"BAD signature" in bad.stderr
