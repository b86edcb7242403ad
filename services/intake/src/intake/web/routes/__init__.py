"""Every router, gathered in one place (`/healthz` and `/readyz` are the runner's)."""

from fastapi import APIRouter

from intake.web.routes import api, forms, locations, requests

api_router = APIRouter()
api_router.include_router(forms.router)
api_router.include_router(locations.router)
api_router.include_router(api.router)
api_router.include_router(requests.router)

__all__ = ["api_router"]
