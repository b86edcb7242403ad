"""`python -m intake seed`: the local run's users and locations (safe to run again)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from showcase_common.index.models import Location, User
from sqlmodel import Session, select

from intake.db import Database
from intake.security import hash_password

log = logging.getLogger(__name__)

USERS = [("admin", "admin", True), ("studio", "studio", False)]
LOCATIONS = [
    # key, name, region, locale, owner
    ("boston", "Boston Dance Studio", "iad", "en_US", "studio"),
    ("chicago", "Chicago Ballroom", "ord", "en_US", None),
    ("raleigh", "Raleigh Dance Center", "iad", "en_US", None),
]


def seed(db: Database, hasher: Callable[[str], str] = hash_password) -> None:
    """Add the users and locations that are missing; `hasher` is swapped for a cheap one in tests."""
    with db.writing() as session:
        users = {login: _user(session, login, pw, admin, hasher) for login, pw, admin in USERS}
        session.flush()
        for key, name, region, locale, owner in LOCATIONS:
            if session.exec(select(Location).where(Location.key == key)).first() is None:
                owner_id = users[owner].id if owner else None
                session.add(
                    Location(key=key, name=name, region=region, locale=locale, owner_id=owner_id)
                )
                log.info("seeded location %s", key)


def _user(
    session: Session, login: str, password: str, is_admin: bool, hasher: Callable[[str], str]
) -> User:
    user = session.exec(select(User).where(User.login == login)).first()
    if user is None:
        user = User(login=login, password_hash=hasher(password), is_admin=is_admin)
        session.add(user)
        log.info("seeded user %s", login)
    return user
