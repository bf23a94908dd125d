"""One error model for the whole API: RFC 9457 `application/problem+json` (type, title, status, detail, plus
`errors` for validation). Bad input is always a 4xx; a 500 says only that something went wrong, never why."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger, install_log_redaction

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://creditdesk.example/problems/"

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.AMBIGUOUS: 409,
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.CONFLICT: 409,
    ErrorCode.STALE: 409,
    ErrorCode.EXPIRED: 409,
    ErrorCode.NOT_CONFIGURED: 503,
    ErrorCode.UPSTREAM: 502,
    ErrorCode.IMPORT_REJECTED: 422,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.NOT_MIGRATED: 503,
    ErrorCode.DAMAGED: 503,
}
RETRY_AFTER_SECONDS = 10

# A database fault's own message names the file or server (for the operator's terminal); API clients get these.
PUBLIC_DATABASE_DETAIL: dict[ErrorCode, str] = {
    ErrorCode.UNAVAILABLE: "the database is not reachable or busy right now; try again shortly",
    ErrorCode.NOT_MIGRATED: (
        "the database is not set up for this version of creditdesk; an operator must run `creditdesk db upgrade` "
        "(or `creditdesk init` for a new database)"
    ),
    ErrorCode.DAMAGED: "the database is damaged; an operator must restore it",
    ErrorCode.NOT_CONFIGURED: "the database is not configured correctly; an operator must check its URL",
}


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """An error response (`application/problem+json`)."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    code: str | None = Field(default=None, description="creditdesk error code, e.g. forbidden or not_found")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Per-field or per-row errors")


# Declared on every route so the OpenAPI document shows the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": HTTPStatus(status).phrase}
    for status in (401, 403, 404, 409, 422, 503)
}


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = code or HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug.replace("_", "-"),
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if code:
        body["code"] = code
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def not_ready_detail(error: Exception) -> str:
    """What `/readyz` says about a database that cannot serve (without naming its file or server)."""
    if isinstance(error, CreditDeskError) and error.code in PUBLIC_DATABASE_DETAIL:
        return PUBLIC_DATABASE_DETAIL[error.code]
    return "the database is not reachable"


def problem_for_error(error: CreditDeskError) -> JSONResponse:
    status = STATUS_BY_CODE.get(error.code, 400)
    errors = error.details.get("errors") if error.code is ErrorCode.IMPORT_REJECTED else None
    headers: dict[str, str] | None = None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif error.code is ErrorCode.UNAVAILABLE:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    detail = error.message
    if "database" in error.details and error.code in PUBLIC_DATABASE_DETAIL:
        detail = PUBLIC_DATABASE_DETAIL[error.code]
    return problem_response(status, detail, code=error.code.value, errors=errors, headers=headers)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in item.get("loc", ())],
            "msg": str(item.get("msg", "invalid")),
            "type": str(item.get("type", "")),
        }
        for item in error.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    install_log_redaction()  # the app may run without the CLI's logging set-up (uvicorn --factory, tests)

    async def on_credit_desk_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, CreditDeskError)
        return problem_for_error(error)

    async def on_validation_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return problem_response(
            422, "the request is not valid; see errors", code="invalid_input", errors=_validation_errors(error)
        )

    async def on_http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        headers = dict(error.headers) if error.headers else None
        detail = error.detail if isinstance(error.detail, str) else None
        return problem_response(error.status_code, detail, headers=headers)

    async def on_database_error(request: Request, error: Exception) -> JSONResponse:
        from db.engine import database_fault

        state = getattr(request.app.state, "creditdesk", None)
        fault = database_fault(error, getattr(state, "database_url", None))
        if fault is None:
            return await on_unexpected_error(request, error)
        log.warning("api.database_fault", code=fault.code.value, error=type(error).__name__)
        return problem_for_error(fault)

    async def on_unexpected_error(request: Request, error: Exception) -> JSONResponse:
        route = request.scope.get("route")
        log.error("api.unhandled_error", path=getattr(route, "path", "?"), error=type(error).__name__)
        return problem_response(500, "something went wrong on our side; please try again", code="internal")

    app.add_exception_handler(CreditDeskError, on_credit_desk_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    # Registered on its own (not only under `Exception`) so Starlette answers it without re-raising it.
    app.add_exception_handler(SQLAlchemyError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected_error)
