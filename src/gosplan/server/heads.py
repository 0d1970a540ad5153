"""Published ledger heads, signed with the server's Ed25519 key.

A hash chain shows any change *inside* an export, but an export cut short at its end, or
rewritten and rehashed from some entry on, is a valid chain too: only a head kept outside
the server tells them apart. At every change of a round's state the service publishes the
round's head (how many entries, the last hash) signed with its key, in the API, on the
round's page and in the ``heads`` table; a member keeps the signed text, and
``gosplan ledger verify --head FILE`` checks a later export against it: fewer entries
(truncated) or another hash at that position (forked) is reported.

The signed text is canonical JSON (RFC 8785) of ``{"format", "version", "round",
"entries", "head", "status", "time", "public_key"}``; ``signature`` is the Ed25519
signature of those bytes, in hex. The public key is published at ``GET /key``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gosplan.democracy.ledger import HEAD_FORMAT as FORMAT
from gosplan.democracy.ledger import HEAD_VERSION as VERSION
from gosplan.democracy.ledger import canonical_json, check_signed_head  # noqa: F401 (re-exported)
from gosplan.errors import GosplanError, require


def default_key_path(database_url: str) -> Path:
    """Where the server's key lives: ``$GOSPLAN_SIGNING_KEY``, else beside a SQLite file, else
    in the user's data directory (one key per database URL)."""
    env = os.environ.get("GOSPLAN_SIGNING_KEY")
    if env:
        return Path(env)
    if database_url.startswith("sqlite:///"):
        return Path(database_url[len("sqlite:///"):] + ".ed25519.pem")
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "gosplan"
    return base / f"signing-key-{hashlib.sha256(database_url.encode()).hexdigest()[:16]}.pem"


class Signer:
    """The server's Ed25519 key, read from ``path`` or made there (mode 0600) on first use."""

    def __init__(self, path: str | os.PathLike):
        require("cryptography", "server")
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = Path(path)
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise GosplanError(f"{path}: not an Ed25519 private key; remove it to make a new one")
        else:
            key = Ed25519PrivateKey.generate()
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
        self.path = path
        self._key = key
        self.public_key = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                        serialization.PublicFormat.Raw).hex()

    def sign(self, round_id: int, entries: int, head: str, status: str, time: str) -> dict:
        body = {"format": FORMAT, "version": VERSION, "round": round_id, "entries": entries, "head": head,
                "status": str(status), "time": time, "public_key": self.public_key}
        return {**body, "signature": self._key.sign(canonical_json(body)).hex()}
