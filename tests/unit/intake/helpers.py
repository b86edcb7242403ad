"""Small helpers shared by intake's unit and integration tests."""

from __future__ import annotations

from intake.container import Container
from intake.models import IdempotencyKey, Outbox, Request
from showcase_common.index.models import Location, Showcase, User
from sqlmodel import func, select

from tests.unit.intake.fakes import cheap_hash


def counts(container: Container) -> dict[str, int]:
    """Rows per table: 'nothing changed' is these numbers staying put."""
    with container.db.session() as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in (Showcase, Request, Outbox, IdempotencyKey, User, Location)
        }


def add_user(container: Container, login: str, password: str, *, owns: str | None = None) -> None:
    with container.db.writing() as session:
        user = User(login=login, password_hash=cheap_hash(password))
        session.add(user)
        session.flush()
        if owns is not None:
            location = session.exec(select(Location).where(Location.key == owns)).one()
            location.owner_id = user.id
            session.add(location)


def location_id(container: Container, key: str) -> int:
    with container.db.session() as session:
        location = session.exec(select(Location).where(Location.key == key)).one()
        assert location.id is not None
        return location.id
