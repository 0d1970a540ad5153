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


class HeadsMirror:
    """An append-only copy of every signed head, one canonical JSON line each, outside the database.

    The server opens the file with ``O_APPEND`` and only ever adds to it (after the head's
    transaction is committed, before the act is acknowledged; fsynced); an administrator may
    make it append-only for the server's user (``chattr +a``), or keep it on another machine's
    disk. Whoever rewrites the database's ``heads`` table cannot rewrite the mirror: at startup
    the server refuses to run if a mirrored head is missing from the database, and
    ``gosplan ledger verify EXPORT --head MIRROR`` checks an export against every head the
    mirror holds for its round.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        import threading

        self._lock = threading.Lock()

    def append(self, signed: str) -> None:
        """Add one signed head (its canonical JSON text) and make it durable."""
        line = (signed + "\n").encode("utf-8")
        with self._lock:
            os.write(self._fd, line)  # one write of a line: O_APPEND puts it whole at the end
            os.fsync(self._fd)

    def catch_up(self, stored: list[str]) -> int:
        """Check the mirror against the heads stored in the database (``stored``, oldest first) and
        append those it lacks (a crash between a commit and its append); how many were appended.

        Raises :class:`GosplanError` if the mirror holds a head the database does not: the
        database's heads were changed behind the server's back, or the mirror is another's.
        """
        known = set(stored)
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):  # a line torn by a crash mid-write: set it apart, skip it
            os.write(self._fd, b"\n")
            text = text[:text.rfind("\n") + 1]
        lines = [ln for ln in text.splitlines() if ln.strip()]
        for i, line in enumerate(lines, 1):
            if line not in known:
                raise GosplanError(
                    f"heads mirror {self.path}, line {i}: this signed head is not in the database's heads table "
                    f"({line[:120]}…): the database was changed behind the server's back, or the mirror belongs to "
                    "another database. Check each round with `gosplan ledger verify EXPORT --head "
                    f"{self.path}`; the server does not start over a database its mirror contradicts")
        mirrored = set(lines)
        missing = [h for h in stored if h not in mirrored]
        for h in missing:
            self.append(h)
        return len(missing)

    def close(self) -> None:
        os.close(self._fd)


def mirrored_heads(text: str, round_id: str | int, public_key: str | None = None) -> list[tuple[int, str]]:
    """The heads a mirror file (or any file of signed heads, one JSON per line) holds for round
    ``round_id``, each signature checked: ``(entries, hash)`` pairs for ``verify``'s ``pinned``.

    Raises :class:`GosplanError` naming the line whose signature fails, or if none is of the round.
    """
    import json

    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            head = json.loads(line)
            if str(head.get("round")) == str(round_id):
                out.append(check_signed_head(head, public_key))
        except (GosplanError, ValueError, AttributeError) as exc:
            raise GosplanError(f"line {i}: {exc}") from None
    if not out:
        raise GosplanError(f"it holds no head of round {round_id}")
    return out
