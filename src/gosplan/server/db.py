"""The service's storage: SQLAlchemy 2 models, the engine and one transaction per write.

SQLite is the default (one file, WAL journal, ``synchronous=FULL``: a write the
service has acknowledged is on disk and survives a ``kill -9``); PostgreSQL is used
when the database URL names one (driver psycopg 3). Every write of the service runs
in :func:`Store.write`, one transaction that also appends the write's ledger entry,
so a record and its entry in the tamper-evident log are stored together or not at
all. Contents (baskets, ballots, results) are stored as canonical JSON text: the
same text the ledger hashes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from gosplan.democracy.rounds import RoundStatus
from gosplan.errors import GosplanError

DEFAULT_SQLITE = "gosplan.sqlite"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Council(Base):
    """A workers' or consumers' council; its weight counts in weighted rules."""

    __tablename__ = "councils"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    #: Share of the council's members whose signatures end a delegate's mandate.
    recall_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("council_id", "name"),)


class Token(Base):
    """A bearer token, stored as the SHA-256 of its text; never the text itself."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200), default="")
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), nullable=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("mandates.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: A page session's token ends here (a login of the pages makes one; logout revokes it).
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The token a session was opened with: revoking it ends its sessions too.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), nullable=True)


class Round(Base):
    """A planning, budget or election round; the head of its ledger chain lives here."""

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # a RoundKind
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=RoundStatus.OPEN)
    rule: Mapped[str] = mapped_column(String(40))
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), nullable=True)
    #: Rule parameters, economy name, budget, ballot kind, seats ... (canonical JSON).
    params: Mapped[str] = mapped_column(Text, default="{}")
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    seq: Mapped[int] = mapped_column(Integer, default=-1)
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Proposal(Base):
    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("round_id", "council_id"),)


class Vote(Base):
    """A council's vote in a plan round or a member's ballot in a budget or election round."""

    __tablename__ = "votes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    voter: Mapped[str] = mapped_column(String(40))  # council:ID or member:ID
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("round_id", "voter"),)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    cost: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (UniqueConstraint("round_id", "key"),)


class Candidate(Base):
    __tablename__ = "candidates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    __table_args__ = (UniqueConstraint("round_id", "member_id"),)


class Mandate(Base):
    """A delegate's mandate: from an election's result until recall or the next election."""

    __tablename__ = "mandates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    ended_reason: Mapped[str] = mapped_column(String(40), default="")


class Signature(Base):
    """A member's signature on the recall petition against a mandate."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    __table_args__ = (UniqueConstraint("mandate_id", "member_id"),)


class LedgerRow(Base):
    """One entry of a round's hash chain, as the ledger module builds it."""

    __tablename__ = "ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    #: The entry exactly as exported: canonical JSON of every field, hashes included.
    entry: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("round_id", "seq"),)


class UsedKey(Base):
    """An idempotency key (or form nonce) already used by a principal: a replay is refused."""

    __tablename__ = "used_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("principal", "key"),)


class Head(Base):
    """A round's ledger head (entry count and last hash) as published, signed with the server's key.

    Written at every change of a round's state; members keep the signed text, and
    ``gosplan ledger verify --head FILE`` checks a later export against it.
    """

    __tablename__ = "heads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    entries: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    #: The signed head exactly as published (canonical JSON).
    signed: Mapped[str] = mapped_column(Text)


def normalise_url(url: str | None) -> str:
    """The SQLAlchemy URL: a file path or ``sqlite:///`` URL, or a PostgreSQL URL (psycopg 3)."""
    url = url or os.environ.get("GOSPLAN_DATABASE_URL") or DEFAULT_SQLITE
    if "://" not in url:
        return f"sqlite:///{os.path.abspath(url)}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith("postgresql") or scheme.startswith("sqlite"):
        return url
    raise GosplanError(
        f"database URL {url!r}: unsupported scheme {scheme!r}; give a SQLite file path or a postgresql:// URL"
    )


def make_engine(url: str | None, *, writer: bool = True, durable: bool = True) -> Engine:
    """An engine; on SQLite, ``writer`` engines take the write lock when a transaction begins.

    ``durable=False`` (SQLite only) skips the fsync of each commit: for bulk loading a
    fresh database in tests and benchmarks, never for a service that acknowledges writes.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, pool_size=20, max_overflow=40)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            # pysqlite's own transaction handling is off so that BEGIN IMMEDIATE below takes
            # the write lock at the start: two writers then queue instead of deadlocking.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            # readers take a snapshot (deferred BEGIN) and never wait for the write lock
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

        return engine
    from gosplan.errors import require

    require("psycopg", "postgres")
    return create_engine(url, pool_size=20, max_overflow=40, pool_pre_ping=True)


class OutdatedSchema(GosplanError):
    """The database was made by an older gosplan: tables or columns are missing."""


def schema_gaps(engine: Engine) -> tuple[list[str], list[tuple[str, str]]]:
    """What the database lacks of the current schema: missing tables, and missing ``(table, column)``
    in the tables it has. A database with none of the service's tables is new, not outdated."""
    insp = inspect(engine)
    existing = set(insp.get_table_names())
    if not existing & set(Base.metadata.tables):
        return [], []
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in existing]
    columns = []
    for t in Base.metadata.sorted_tables:
        if t.name in existing:
            have = {c["name"] for c in insp.get_columns(t.name)}
            columns += [(t.name, c.name) for c in t.columns if c.name not in have]
    return tables, columns


def migrate(url: str | None) -> list[str]:
    """Bring a database made by an older gosplan to the current schema; what was done, one line each.

    Adds the missing tables and the missing columns (each nullable: existing rows get NULL);
    nothing is removed, renamed or rewritten. Back the database up first. A column the
    current schema requires a value in cannot be added this way and is refused before
    anything changes.
    """
    engine = make_engine(url)
    try:
        tables, columns = schema_gaps(engine)
        q = engine.dialect.identifier_preparer.quote
        ddl, done = [], []
        for table, name in columns:
            c = Base.metadata.tables[table].c[name]
            if not c.nullable and c.server_default is None:
                raise OutdatedSchema(f"{table}.{name}: a required column is missing and cannot be added with a value "
                                     "for the existing rows; nothing was changed")
            sql = f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {c.type.compile(engine.dialect)}"
            for fk in c.foreign_keys:
                sql += f" REFERENCES {q(fk.column.table.name)} ({q(fk.column.name)})"
            ddl.append(sql)
            done.append(f"added column {table}.{name}")
        with engine.begin() as conn:
            for sql in ddl:
                conn.exec_driver_sql(sql)
        Base.metadata.create_all(engine)
        done += [f"created table {t}" for t in tables]
        return done
    finally:
        engine.dispose()


class _Batch:
    """Acts sharing one transaction of a group commit, and the event of its commit."""

    def __init__(self, session: Session):
        self.session = session
        self.transaction = session.begin()
        self.members = 0
        self.done = threading.Event()
        self.error: BaseException | None = None


class StorageFailure(GosplanError):
    """The database did not commit a write: it is not stored and was not acknowledged."""


#: Most acts in one group commit (bounds the latency an act waits for its batch's fsync).
MAX_BATCH = 256


class Store:
    """The engine, its session factory and the one way to write.

    Writes are *group-committed* (``group=True``, the default for a durable store, on SQLite
    and PostgreSQL alike): each act runs in a savepoint of a transaction shared with the acts that arrive
    while the previous batch is being committed; one thread commits the batch (one fsync
    for all of them) and only then are its acts acknowledged. A refused act rolls back its
    savepoint and stores nothing; if the commit fails, every act of the batch fails and none
    was acknowledged. ``$GOSPLAN_GROUP_COMMIT=0`` turns it off (one commit per act).
    """

    def __init__(self, url: str | None = None, *, durable: bool = True, group: bool | None = None):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, durable=durable)
        tables, columns = schema_gaps(self.engine)
        if tables or columns:
            self.engine.dispose()
            lacks = [f"table {t}" for t in tables] + [f"column {t}.{c}" for t, c in columns]
            raise OutdatedSchema(f"database {self.url}: made by an older gosplan, it lacks {', '.join(lacks)}. "
                                 "Back it up, then run `gosplan serve --migrate` once (it adds them; nothing is "
                                 "removed or rewritten)")
        Base.metadata.create_all(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = make_engine(self.url, writer=False) if self.is_sqlite else self.engine
        self.read_sessions = sessionmaker(self.reader, expire_on_commit=False)
        self._outer: Session | None = None
        # SQLite has one writer at a time; queueing the writers of this process on a lock
        # spares them SQLite's busy handler, which sleeps in growing steps while it waits.
        if group is None:
            group = durable and os.environ.get("GOSPLAN_GROUP_COMMIT", "1") != "0"
        self.group = bool(group)
        self._write_lock = threading.Lock() if self.is_sqlite or self.group else contextlib.nullcontext()
        self._batch: _Batch | None = None
        #: group commits made and the acts they carried (``GET /health`` shows them)
        self.commits = self.committed_acts = 0
        if self.group:
            self._cond = threading.Condition(self._write_lock)
            self._committer = threading.Thread(target=self._commit_loop, name="gosplan-group-commit", daemon=True)
            self._closing = False
            self._committer.start()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextlib.contextmanager
    def write(self, staged: Callable[[], None] | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error.

        Inside :meth:`batch` it is a savepoint of the batch's transaction instead.
        ``staged`` is called once the block's writes are in the transaction and the
        write lock is released, before the commit is awaited (group commit): the next
        writer may start then, while this one waits for its batch's fsync. It is not
        called when the block fails.
        """
        if self._outer is not None:
            with self._outer.begin_nested(), self._act(self._outer):
                yield self._outer
            if staged is not None:
                staged()
            return
        if self.group:
            yield from self._group_write(staged)
            return
        with self._write_lock:
            with self.sessions() as session:
                with session.begin(), self._act(session):
                    yield session
                self._committed(session)
        if staged is not None:
            staged()

    @staticmethod
    def after_commit(session: Session, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction holding ``session``'s current act is committed (before
        the act is acknowledged); never if the act is rolled back or the commit fails."""
        session.info.setdefault("after_commit", []).append(fn)

    @staticmethod
    @contextlib.contextmanager
    def _act(session: Session) -> Iterator[None]:
        """One act (a transaction or savepoint): an act that fails drops the hooks it registered."""
        hooks = session.info.setdefault("after_commit", [])
        mark = len(hooks)
        try:
            yield
        except BaseException:
            del hooks[mark:]
            raise

    @staticmethod
    def _committed(session: Session) -> None:
        for fn in session.info.pop("after_commit", []):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 (the write is committed; a hook's failure is reported)
                print(f"gosplan: after a commit: {exc}", file=sys.stderr, flush=True)

    def _group_write(self, staged: Callable[[], None] | None = None) -> Iterator[Session]:
        with self._cond:
            while self._batch is not None and self._batch.members >= MAX_BATCH:
                self._cond.wait()
            if self._batch is None:
                self._batch = _Batch(self.sessions())
            b = self._batch
            savepoint = b.session.begin_nested()
            try:
                with self._act(b.session):
                    yield b.session
            except BaseException:
                savepoint.rollback()  # also after a failed flush, which leaves it inactive
                raise
            savepoint.commit()
            b.members += 1
            self._cond.notify_all()
        if staged is not None:
            staged()
        b.done.wait()
        if b.error is not None:
            raise StorageFailure(f"the database did not commit this write ({b.error}); nothing was stored, "
                                 "send it again") from b.error

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closing and (self._batch is None or self._batch.members == 0):
                    self._cond.wait()
                b, self._batch = self._batch, None
                if b is None:
                    return  # closing, nothing pending
                try:
                    b.transaction.commit()
                    self.commits += 1
                    self.committed_acts += b.members
                    self._committed(b.session)
                except BaseException as exc:  # noqa: BLE001 (reported to every act of the batch)
                    b.error = exc
                    try:
                        b.transaction.rollback()
                    except Exception:  # noqa: BLE001
                        pass
                finally:
                    b.session.close()
                self._cond.notify_all()
            b.done.set()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        if self._outer is not None:
            yield self._outer
            return
        with self.read_sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run many acts in one transaction (bulk set-up of a fresh database; one thread only).

        Each act is a savepoint, so a refused act still stores nothing; the whole batch
        is committed once at the end.
        """
        with self.sessions() as session:
            with session.begin():
                self._outer = session
                try:
                    yield
                finally:
                    self._outer = None
            self._committed(session)

    def lock_round(self, session: Session, round_id: int) -> Round | None:
        """The round row, locked for this transaction so its ledger chain grows one entry at a time.

        SQLite's ``BEGIN IMMEDIATE`` already serialises writers; PostgreSQL needs the
        row lock.
        """
        stmt = select(Round).where(Round.id == round_id).execution_options(populate_existing=True)
        if not self.is_sqlite:
            stmt = stmt.with_for_update()
        return session.scalars(stmt).first()

    def dispose(self) -> None:
        if self.group:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._committer.join(30)
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

