"""A database made by the schema before issue 18 (``tokens`` without ``expires_at`` and
``parent_id``, no ``heads`` table): the service refuses to start over it and says how to migrate;
``gosplan serve --migrate`` adds what is missing, keeps every row, and publishes a signed head
for each round whose ledger verifies. Runs on SQLite, and on PostgreSQL when
``GOSPLAN_TEST_POSTGRES_URL`` names one.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("cryptography")

from sqlalchemy import Column, ForeignKey, MetaData, Table, UniqueConstraint, func, select  # noqa: E402

from gosplan.server import _domain  # noqa: E402
from gosplan.server.auth import Bearer, hash_token  # noqa: E402
from gosplan.server.db import Base, OutdatedSchema, Store, make_engine, migrate, schema_gaps  # noqa: E402

from _server_harness import backends, fresh_database  # noqa: E402

#: What issue 18 added to the schema.
NEW_COLUMNS = {("tokens", "expires_at"), ("tokens", "parent_id")}
NEW_TABLES = {"heads"}
TOKEN = "an-old-delegate-token-of-more-than-32-characters"


def _old_schema() -> MetaData:
    """The tables as the schema before issue 18 made them: today's, less what it added."""
    old = MetaData()
    for t in Base.metadata.sorted_tables:
        if t.name in NEW_TABLES:
            continue
        cols = [Column(c.name, c.type, *[ForeignKey(fk.target_fullname) for fk in c.foreign_keys],
                       primary_key=c.primary_key, nullable=c.nullable, unique=c.unique, index=c.index,
                       default=c.default.arg if c.default is not None else None)
                for c in t.columns if (t.name, c.name) not in NEW_COLUMNS]
        uniques = [UniqueConstraint(*[c.name for c in u.columns]) for u in t.constraints
                   if isinstance(u, UniqueConstraint)]
        Table(t.name, old, *cols, *uniques)
    return old


def _old_database(url: str) -> dict:
    """A council, a member with a token, and a budget round with a two-entry ledger, as the old
    service stored them (no head was ever signed)."""
    engine = make_engine(url)
    old = _old_schema()
    old.create_all(engine)
    t = old.tables
    texts, head = [], _domain.GENESIS
    for seq, (kind, payload) in enumerate([("round_opened", {"round": 1, "kind": "budget", "title": "old"}),
                                           ("rule_chosen", {"rule": "greedy", "params": {"budget": 10}})]):
        text, head = _domain.ledger_next(head, seq, kind, "planner#1", payload)
        texts.append(text)
    with engine.begin() as conn:  # ids from the database's own sequences, as the old service got them
        def add(table: str, **row) -> int:
            return conn.execute(t[table].insert().values(**row)).inserted_primary_key[0]

        council = add("councils", name="old council", kind="workers", weight=1.0, recall_threshold=0.5, seats=1)
        member = add("members", council_id=council, name="old member")
        add("tokens", token_hash=hash_token(TOKEN), role="member", label="old", council_id=council, member_id=member,
            active=True)
        rnd = add("rounds", kind="budget", title="old", status="open", rule="greedy",
                  params='{"ballot":"approval","budget":10}', seq=1, head_hash=head)
        for i, x in enumerate(texts):
            add("ledger", round_id=rnd, seq=i, entry=x, hash=json.loads(x)["hash"])
    engine.dispose()
    return {"head": head, "entries": 2, "texts": texts, "round": rnd, "member": member}


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(Base.metadata.tables[name])).scalar_one()
                    for name in ("councils", "members", "tokens", "rounds", "ledger")}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", backends())
def test_an_old_database_is_refused_then_migrated_keeping_every_row(backend, tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from gosplan.cli import app as cli_app

    url = fresh_database(backend, tmp_path)
    monkeypatch.setenv("GOSPLAN_SIGNING_KEY", str(tmp_path / "key.pem"))
    monkeypatch.setenv("GOSPLAN_ADMIN_TOKEN", "an-administrator-token-of-at-least-32-chars")
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: served.append(application))
    old = _old_database(url)
    engine = make_engine(url)
    tables, columns = schema_gaps(engine)
    engine.dispose()
    assert set(tables) == NEW_TABLES and set(columns) == NEW_COLUMNS
    rows = _counts(url)

    with pytest.raises(OutdatedSchema, match=r"column tokens\.expires_at.*gosplan serve --migrate"):
        Store(url)
    refused = CliRunner().invoke(cli_app, ["serve", "--database-url", url])
    assert refused.exit_code != 0 and not served and isinstance(refused.exception, OutdatedSchema)
    assert _counts(url) == rows

    out = CliRunner().invoke(cli_app, ["serve", "--database-url", url, "--migrate"])
    assert out.exit_code == 0, out.output
    for line in ("added column tokens.expires_at", "added column tokens.parent_id", "created table heads",
                 "published a signed head for 1 round(s)"):
        assert line in out.output, out.output
    svc = served[0].state.service
    try:
        after = _counts(url)  # every old row kept; the service adds its registry chain and the administrator
        assert all(after[k] >= n for k, n in rows.items()) and after["councils"] == rows["councils"], (rows, after)
        assert svc.ledger_texts(old["round"]) == old["texts"]  # the old round's entries, byte for byte
        head = svc.head(old["round"])
        assert (head["entries"], head["head"]) == (old["entries"], old["head"])
        assert svc.verify(old["round"], replay=False)["ok"]
        who = svc.whois(Bearer(TOKEN))
        assert who is not None and who.member_id == old["member"]  # the old member's token still works
        assert svc.sign_missing_heads() == ([], [])
        assert migrate(url) == []  # a second run has nothing to do
    finally:
        svc.store.dispose()
