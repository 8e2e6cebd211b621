"""The OpenAPI document at /api/v1/openapi.json; each room adds its own operations with `describe`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

PATHS: dict[str, dict[str, Any]] = {}

_ERROR = {"$ref": "#/components/schemas/Error"}
# Every write takes it (community/idempotency.py).
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    "description": "A unique value chosen by the client for this write. A retry with the same key within "
                   "24 hours returns the first response (with Idempotent-Replayed: true) instead of writing "
                   "again; 409 while the first is still running; 422 if the key was used for another method or path.",
}


def describe(method: str, path: str, summary: str, body: dict[str, Any] | None = None,
             ok: int = 200, auth: bool = False, query: list[str] | None = None) -> None:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): {"description": "OK"},
                      "4XX": {"description": "Error", "content": {"application/json": {"schema": _ERROR}}}},
    }
    # Ids are integers ({question_id}); other path values are names ({name}, a tag).
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "integer" if n.endswith("_id") else "string"}}
              for n in (seg[1:-1] for seg in path.split("/") if seg.startswith("{"))]
    params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in query or []]
    if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
        params.append(_IDEMPOTENCY_KEY)
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": body}}}}
    if auth:
        op["security"] = [{"bearer": []}]
    PATHS.setdefault(path, {})[method.lower()] = op


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Community Q&A API", "version": "1"},
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": ["string", "null"]}}}}}},
        },
    }


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(document())


S, I, A = {"type": "string"}, {"type": "integer"}, {"type": "array", "items": {"type": "string"}}
describe("POST", "/api/v1/users", "Sign up", {"username": S, "email": S, "password": S}, 201)
describe("POST", "/api/v1/tokens", "Get a bearer token (expires after auth.token_days days)",
         {"username": S, "password": S, "label": S}, 201)
describe("GET", "/api/v1/tokens", "Your tokens: label, created, last used, expires", auth=True)
describe("DELETE", "/api/v1/tokens/current", "Revoke the token in use", None, 204, True)
describe("DELETE", "/api/v1/tokens/{token_id}", "Revoke one of your tokens", None, 204, True)
describe("GET", "/api/v1/me", "The member behind the token", auth=True)
describe("GET", "/api/v1/users/{user_id}", "A member, with reputation")
describe("GET", "/api/v1/users/{user_id}/reputation", "A member's reputation ledger")
describe("GET", "/api/v1/questions", "List questions", query=["sort", "tag", "cursor"])
describe("POST", "/api/v1/questions", "Ask a question", {"title": S, "body": S, "tags": A}, 201, True)
describe("GET", "/api/v1/questions/{question_id}", "A question with its answers")
describe("POST", "/api/v1/questions/{question_id}/answers", "Answer a question", {"body": S}, 201, True)
describe("POST", "/api/v1/questions/{question_id}/accept", "Accept an answer", {"answer_id": I}, 200, True)
describe("DELETE", "/api/v1/questions/{question_id}/accept", "Undo acceptance", None, 200, True)
describe("POST", "/api/v1/posts/{post_id}/vote", "Vote: 1, -1 or 0", {"value": I}, 200, True)
describe("POST", "/api/v1/posts/{post_id}/comments", "Comment on a post", {"body": S}, 201, True)
describe("PATCH", "/api/v1/posts/{post_id}", "Edit a post", {"title": S, "body": S, "tags": A, "comment": S}, 200, True)
describe("GET", "/api/v1/notifications", "Your inbox", auth=True)
describe("GET", "/api/v1/me/unread", "How many of your notifications are unread: {unread: n} (cheap; pages poll it)", auth=True)
describe("GET", "/api/v1/privileges", "Privileges and your progress")
describe("GET", "/api/v1/me/watches", "The questions ({id, title}) and tags (names) you watch", auth=True)
describe("PUT", "/api/v1/me/watches", "Replace what you watch: questions (ids) and tags (names); a list left out is kept",
         {"questions": {"type": "array", "items": I}, "tags": A}, 200, True)
describe("GET", "/api/v1/me/notification-settings",
         "How each kind of notification reaches you by mail (now, daily, weekly or never), with every kind and its default",
         auth=True)
describe("PUT", "/api/v1/me/notification-settings", "Change some kinds' delivery: {settings: {kind: delivery}}; others are kept",
         {"settings": {"type": "object", "additionalProperties": S}}, 200, True)
describe("PUT", "/api/v1/questions/{question_id}/watch", "Watch a question", None, 200, True)
describe("DELETE", "/api/v1/questions/{question_id}/watch", "Stop watching a question (taking part later does not restart it)",
         None, 200, True)
describe("PUT", "/api/v1/tags/{name}/watch", "Watch a tag: new questions in it reach you", None, 200, True)
describe("DELETE", "/api/v1/tags/{name}/watch", "Stop watching a tag", None, 200, True)
describe("POST", "/api/v1/preview", "Render a draft's Markdown exactly as a post stores it: {html}", {"body": S}, 200, True)
describe("POST", "/api/v1/uploads", "Upload an image for a post (multipart, field \"file\"; JPEG, PNG or WebP, at most 10 MB and "
         "4,000 px a side): re-encoded without metadata; answers its url, size and the Markdown that shows it", None, 201, True)
PATHS["/api/v1/uploads"]["post"]["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}, "alt": S}}}}}
