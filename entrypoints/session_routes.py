"""Browser sign-in: a key exchanged once for a signed, HttpOnly session cookie.

The cookie carries the key's name and a timestamp under a signature, never the key, so
`EventSource` streams and `<img>` loads work without the key in JavaScript or URLs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from entrypoints.access import access_of
from entrypoints.api_models import SessionKey
from entrypoints.authentication import SESSION_COOKIE, address_of, signed_in_client
from entrypoints.http_errors import error_response
from entrypoints.json_body import read_json_object
from entrypoints.request_validation import validated


async def session_state(request: Request) -> Response:
    access = access_of(request)
    client = signed_in_client(request) if access.keys.enabled else None
    return JSONResponse(
        {
            "auth_required": access.keys.enabled,
            "signed_in": client is not None,
            "client": client.id if client else None,
        }
    )


async def sign_in(request: Request) -> Response:
    access = access_of(request)
    # Public, so small: a key is a few dozen bytes.
    key = validated(SessionKey, await read_json_object(request, limit=1024)).key
    if not access.keys.enabled:
        # Nothing to sign in to, and nothing wrong with asking: every request is let in
        # already, so the client gets the outcome it wanted (no cookie, no key checked).
        return Response(status_code=204)
    address = address_of(request.scope)
    request_id = getattr(request.state, "request_id", None)
    wait = access.throttled(address)
    if wait is not None:
        return error_response(
            429,
            "rate_limited",
            "Too many wrong keys from this address: wait and retry.",
            request_id,
            headers={"Retry-After": str(wait)},
        )
    client = access.client_for_key(key)
    if client is None:
        access.record_failure(address, "wrong_key")
        return error_response(401, "unauthorized", "The API key is wrong.", request_id)
    response = Response(status_code=204)
    response.set_cookie(
        SESSION_COOKIE,
        access.session_value(client),
        max_age=access.session_seconds,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def sign_out(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        # A copy of the cookie (another tab, a script) must not outlive the sign-out.
        access_of(request).revoke_session(cookie)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def session(request: Request) -> Response:
    if request.method == "POST":
        return await sign_in(request)
    if request.method == "DELETE":
        return await sign_out(request)
    return await session_state(request)


# One route, so a 405 lists all three methods.
SESSION_ROUTES = [Route("/session", session, methods=["GET", "POST", "DELETE"])]
