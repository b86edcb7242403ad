"""The index database: its shared schema and the showcases.yml derived from it."""

from showcase_common.index.models import Location, Showcase, User, create_shared_schema

__all__ = ["Location", "Showcase", "User", "create_shared_schema"]
