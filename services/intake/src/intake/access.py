"""Who may do what, by the Rails application's rules (`User.owned?` in its app/models/user.rb).

An admin is a user whose comma-separated `sites` holds `index`. Anyone else may request a
showcase for a location they own (`locations.user_id`) and for each location whose name is in
the comma-separated `sisters` of a location they own. `sites` grants access to events' pages on
the fleet; it is not what decides requests.
"""

from __future__ import annotations

from collections.abc import Callable

from showcase_common.index.models import Location, User
from sqlmodel import Session, col, select

ADMIN_SITE = "index"


def names(listing: str | None) -> set[str]:
    """The entries of a comma-separated list, stripped, empty ones dropped."""
    return {name.strip() for name in (listing or "").split(",") if name.strip()}


def is_admin(user: User) -> bool:
    return ADMIN_SITE in names(user.sites)


def requestable(session: Session, user: User) -> list[Location]:
    """The locations `user` may request showcases for, by name (every one for an admin)."""
    everything = list(session.exec(select(Location).order_by(col(Location.name), col(Location.id))))
    if is_admin(user):
        return everything
    sisters = _sister_names(session, user)
    return [loc for loc in everything if _owns(user, loc) or _name(loc) in sisters]


def may_request_for(session: Session, user: User, location: Location) -> bool:
    return may_request(user, location, lambda: _sister_names(session, user))


def may_request(user: User, location: Location, sister_names: Callable[[], set[str]]) -> bool:
    """`may_request_for`, given how to read the names in the `sisters` of `user`'s locations
    (read only when neither admin nor owner decides)."""
    if is_admin(user) or _owns(user, location):
        return True
    return bool(_name(location)) and _name(location) in sister_names()


def _owns(user: User, location: Location) -> bool:
    return location.user_id is not None and location.user_id == user.id


def _name(location: Location) -> str:
    return (location.name or "").strip()


def _sister_names(session: Session, user: User) -> set[str]:
    """The names in the `sisters` of every location `user` owns."""
    listings = session.exec(select(Location.sisters).where(Location.user_id == user.id))
    return set().union(*(names(listing) for listing in listings))
