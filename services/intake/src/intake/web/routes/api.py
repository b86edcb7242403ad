"""POST /api/showcases: the form's fields as JSON, with Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from intake.idempotency import Idempotency, IdempotencyMismatch, body_digest
from intake.models import MAX_ID, ShowcaseCreatedOut, ShowcaseIn, TemplateOut
from intake.showcases import Draft, Invalid
from intake.use_cases import Forbidden
from intake.web.deps import CurrentUser, Deps
from intake.web.errors import field_errors
from intake.web.openapi import BODY_ERRORS, CROSS_FIELD_RULES
from intake.web.presenters import created_body

_ERROR_TYPE = {"invalid": "value_error", "unknown_location": "unknown_location", "taken": "taken"}
"""Each refusal's error `type` in the 422's per-field list."""

router = APIRouter(prefix="/api", tags=["api"])
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


@router.post(
    "/showcases",
    status_code=201,
    response_model=ShowcaseCreatedOut,
    responses={
        403: {"description": "the user may not request showcases for this location"},
        **BODY_ERRORS,
        422: {
            "description": "invalid input, a per-field error list: the schema's constraints, "
            + CROSS_FIELD_RULES
            + " Business refusals of well-formed input are 422s too, named by each error's"
            " `type`: `unknown_location` (`location_id` names no location), `taken` (`name` or"
            " `key` is used in this location and year)."
            + " Also an Idempotency-Key already used with another body."
        },
    },
)
async def create_showcase(
    body: ShowcaseIn,
    http: Request,
    deps: Deps,
    user: CurrentUser,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    draft = Draft(**body.model_dump())
    idempotency = None
    if idempotency_key is not None:
        idempotency = Idempotency(idempotency_key, body_digest(body.model_dump(mode="json")))
    try:
        created = await deps.use_cases.create_showcase(user, draft, idempotency)
    except Invalid as exc:
        return field_errors(exc.errors, kind=_ERROR_TYPE[exc.reason])
    except Forbidden:
        return JSONResponse({"detail": "you may only request showcases for your own studio"}, 403)
    except IdempotencyMismatch:
        return field_errors(
            {"Idempotency-Key": "was already used with a different body"}, where="header"
        )
    # An admin's e-mail was committed with the showcase; the mail relay sends it. A repeated
    # key answers as the first POST did (the same showcase and request, a fresh token).
    headers = {"Idempotent-Replayed": "true"} if created.replayed else None
    return JSONResponse(created_body(deps, http, user, created), 201, headers=headers)


@router.get(
    "/showcases/{showcase_id}/template",
    response_model=TemplateOut,
    responses={
        404: {"description": "no such showcase, or one of a location the user may not request for"}
    },
)
async def showcase_template(
    showcase_id: Annotated[int, Path(ge=1, le=MAX_ID)], deps: Deps, user: CurrentUser
) -> TemplateOut:
    """Start from a past showcase: its name with the year moved on, its dates shifted by whole
    years to the same weekday, the key to be derived afresh."""
    template = await deps.db.read(deps.use_cases.template, user, showcase_id)
    if template is None:
        raise HTTPException(404, "no such showcase")
    return TemplateOut(
        name=template.name,
        location_id=template.location_id,
        year=template.year,
        start_date=template.start_date,
        end_date=template.end_date,
    )
