"""Every router, gathered in one place (`/healthz` and `/readyz` are the runner's)."""

from fastapi import APIRouter

from intake.web.openapi import AUTHENTICATED
from intake.web.routes import admin, api, forms, locations, pages, requests, studios

api_router = APIRouter()
# Every route behind HTTP Basic: 401, 429 (throttled logins) and 503 (busy) documented once.
for _router in (
    forms.router,
    locations.router,
    api.router,
    requests.router,
    pages.router,
    studios.router,
    admin.router,
):
    api_router.include_router(_router, responses=AUTHENTICATED)

__all__ = ["api_router"]
