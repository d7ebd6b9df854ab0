"""A table-driven fuzz of the foreign APIs: nothing a client sends to `/sdapi/v1` or `/v1`
gives a 500, every refusal comes in that API's own error shape, and a refused call leaves
no upload behind.

Schemathesis fuzzes our own API from /openapi.json; the foreign ones are not in it. So
each POST route gets its valid base body with one known field at a time replaced by each
hostile value (the tables, read from the request models, are in `foreign_fuzz_cases`),
plus bodies that are not objects, not JSON, or not JSON at all. The edit form gets the
same values as text, and hostile files. Deterministic: the values are a fixed table.

One test per (route, field) the route reads, on one server for the module: the field's
values are sent in turn and every wrong answer collected, so a failure lists route,
field, value, status and body together. The many fields a route only echoes and ignores
get each value all at once, and one by one only where that answer is wrong or a refusal:
every accepted call makes images, and one per ignored field and value would take minutes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.bootstrap import Services
from entrypoints.openai_images.edit_form import IMAGE_FIELDS
from tests.conftest import SETTING_NAMES, make_settings
from tests.foreign.foreign_fuzz_cases import (
    EDIT_BASE,
    EDIT_READ_FIELDS,
    EDIT_TEXT_VALUES,
    EDITS,
    HOSTILE,
    HOSTILE_FILES,
    IMAGE_FIELD_NAMES,
    IMAGE_VALUES,
    JSON,
    JSON_ROUTES,
    OPENAI_IGNORED,
    TINY_PNG,
    TINY_PNG_B64,
    WHOLE_BODIES,
    Part,
    Value,
    as_form_text,
)
from tests.support.waiting import wait_until

A1111_ERROR_KEYS = {"error", "detail", "body", "errors"}
OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as environment:
        for name in SETTING_NAMES:  # the defaults, whatever the shell exports
            environment.delenv(name, raising=False)
        settings = make_settings(tmp_path_factory.mktemp("fuzz"), use_mocks=True)
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as served:
            yield served


def built(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def upload_count(client: TestClient) -> int:
    return len(built(client).upload_store.all())


def shape_problem(route: str, response: Any) -> str | None:
    """What is wrong with an answer: a 5xx, or an error not in the route's API's shape."""
    if response.status_code >= 500:
        return "a server error"
    if response.status_code < 400:
        try:
            response.json()
        except ValueError:
            return "a success that is not JSON"
        return None
    try:
        body = response.json()
    except ValueError:
        return "an error that is not JSON"
    if route.startswith("/sdapi/"):
        if not (isinstance(body, dict) and set(body) == A1111_ERROR_KEYS and body["detail"]):
            return "an error not in AUTOMATIC1111's shape"
    elif not (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and set(body["error"]) == OPENAI_ERROR_KEYS
        and body["error"]["message"]
    ):
        return "an error not in OpenAI's shape"
    return None


Send = Callable[[], Any]
"""Posts one case; its answer (the test client's response)."""


def answer_problem(client: TestClient, route: str, send: Send) -> tuple[str | None, int]:
    """Sends one case: what is wrong with its answer (None: nothing), and its status."""
    uploads = upload_count(client)
    response = send()
    problem = shape_problem(route, response)
    if problem is None and response.status_code >= 400 and upload_count(client) != uploads:
        problem = "a refusal that left an upload behind"
    if problem is None:
        return None, response.status_code
    return f"{response.status_code} {problem}: {response.text[:300]}", response.status_code


def case_problems(client: TestClient, route: str, cases: Iterable[tuple[str, Send]]) -> list[str]:
    """Every case's wrong answer, told with the route and the case's name."""
    problems = []
    for name, send in cases:
        problem, _ = answer_problem(client, route, send)
        if problem is not None:
            problems.append(f"{route} {name} -> {problem}")
    return problems


def ignored_field_problems(
    client: TestClient,
    route: str,
    fields: list[str],
    values: Mapping[str, Value],
    sender: Callable[[dict[str, Value]], Send],
) -> list[str]:
    """Each value in all of ``fields`` at once (one call, not one per field: each
    successful call makes images); where that answer is wrong or a refusal, the value in
    each field alone, to name the field."""
    problems = []
    for name, value in values.items():
        problem, status = answer_problem(client, route, sender(dict.fromkeys(fields, value)))
        if problem is None and status < 400:
            continue
        alone = case_problems(
            client, route, ((f"{field}={name}", sender({field: value})) for field in fields)
        )
        if problem is not None and not alone:
            alone = [f"{route} every ignored field={name} -> {problem}"]
        problems += alone
    return problems


def assert_none(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} wrong answers:\n" + "\n".join(problems)


# JSON bodies


def with_values(base: dict[str, Any], raw_values: Mapping[str, Value]) -> bytes:
    """``base`` as JSON with each field of ``raw_values`` set to that raw JSON text."""
    marked = {**base, **{field: f"hostile value {index}" for index, field in enumerate(raw_values)}}
    text = json.dumps(marked)
    for index, raw in enumerate(raw_values.values()):
        text = text.replace(json.dumps(f"hostile value {index}"), str(raw))
    return text.encode()


def json_post(client: TestClient, route: str, content_type: str, body: bytes) -> Send:
    headers = {"content-type": content_type} if content_type else {}
    return lambda: client.post(route, content=body, headers=headers)


def json_values(field: str) -> dict[str, Value]:
    return {**HOSTILE, **(IMAGE_VALUES if field in IMAGE_FIELD_NAMES else {})}


@pytest.mark.parametrize("route", list(JSON_ROUTES))
def test_each_base_body_is_accepted(client: TestClient, route: str) -> None:
    """Else every case below would be refused for the base's fault, whatever the field."""
    response = client.post(route, json=JSON_ROUTES[route].base)
    assert response.status_code == 200, response.text


READ_FIELDS = [(route, field) for route, spec in JSON_ROUTES.items() for field in spec.read]


@pytest.mark.parametrize(("route", "field"), READ_FIELDS, ids=[f"{r} {f}" for r, f in READ_FIELDS])
def test_no_value_of_a_read_field_gives_a_server_error(
    client: TestClient, route: str, field: str
) -> None:
    base = JSON_ROUTES[route].base
    cases = (
        (f"{field}={name}", json_post(client, route, JSON, with_values(base, {field: raw})))
        for name, raw in json_values(field).items()
    )
    assert_none(case_problems(client, route, cases))


@pytest.mark.parametrize("route", [route for route, spec in JSON_ROUTES.items() if spec.ignored])
def test_no_value_of_an_ignored_field_gives_a_server_error(client: TestClient, route: str) -> None:
    spec = JSON_ROUTES[route]

    def sender(raw_values: dict[str, Value]) -> Send:
        return json_post(client, route, JSON, with_values(spec.base, raw_values))

    assert_none(ignored_field_problems(client, route, spec.ignored, HOSTILE, sender))


@pytest.mark.parametrize("route", list(JSON_ROUTES))
def test_no_whole_body_gives_a_server_error(client: TestClient, route: str) -> None:
    cases = (
        (f"body {name}", json_post(client, route, content_type, body))
        for name, (content_type, body) in WHOLE_BODIES.items()
    )
    assert_none(case_problems(client, route, cases))


# The edit form


def text_part(name: str, value: Value) -> Part:
    return (name, (None, value.encode() if isinstance(value, str) else value, None))


def file_part(name: str, data: bytes) -> Part:
    return (name, ("picture.png", data, "image/png"))


def edit_post(client: TestClient, parts: list[Part]) -> Send:
    return lambda: client.post(EDITS, files=parts)


def base_parts(**replaced: Value | None) -> list[Part]:
    """The valid form's text fields, with ``replaced`` ones swapped (None: left out)."""
    values: dict[str, Value | None] = {**EDIT_BASE, **replaced}
    return [text_part(name, value) for name, value in values.items() if value is not None]


IMAGE = file_part("image", TINY_PNG)


def test_the_base_edit_form_is_accepted(client: TestClient) -> None:
    response = edit_post(client, [IMAGE, *base_parts()])()
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("field", EDIT_READ_FIELDS)
def test_no_value_of_a_read_edit_field_gives_a_server_error(client: TestClient, field: str) -> None:
    cases = [
        (f"{field}={name}", edit_post(client, [IMAGE, *base_parts(**{field: value})]))
        for name, value in EDIT_TEXT_VALUES.items()
    ]
    cases.append(
        (f"{field} twice", edit_post(client, [IMAGE, *base_parts(), text_part(field, "2")]))
    )
    as_file = [IMAGE, *base_parts(**{field: None}), file_part(field, b"2")]
    cases.append((f"{field} as a file", edit_post(client, as_file)))
    assert_none(case_problems(client, EDITS, cases))


def test_no_value_of_an_ignored_edit_field_gives_a_server_error(client: TestClient) -> None:
    def sender(values: dict[str, Value]) -> Send:
        return edit_post(client, [IMAGE, *base_parts(**values)])

    problems = ignored_field_problems(client, EDITS, list(OPENAI_IGNORED), EDIT_TEXT_VALUES, sender)
    assert_none(problems)


@pytest.mark.parametrize("field", [*IMAGE_FIELDS, "mask"])
def test_no_edit_file_gives_a_server_error(client: TestClient, field: str) -> None:
    image = [] if field in IMAGE_FIELDS else [IMAGE]
    cases = [
        (f"{field}={name}", edit_post(client, [*image, file_part(field, data), *base_parts()]))
        for name, data in HOSTILE_FILES.items()
    ]
    text = as_form_text(IMAGE_VALUES["tiny PNG"])
    cases.append(
        (f"{field} as text", edit_post(client, [*image, text_part(field, text), *base_parts()]))
    )
    many = [file_part(field, data) for data in HOSTILE_FILES.values()]
    cases.append((f"{field} many times", edit_post(client, [*image, *many, *base_parts()])))
    assert_none(case_problems(client, EDITS, cases))


def test_no_edit_form_envelope_gives_a_server_error(client: TestClient) -> None:
    json_body = json.dumps({**EDIT_BASE, "image": TINY_PNG_B64}).encode()
    broken = b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na cat'
    multipart = "multipart/form-data; boundary=b"
    cases: list[tuple[str, Send]] = [
        ("no image", edit_post(client, base_parts())),
        ("no prompt", edit_post(client, [IMAGE, *base_parts(prompt=None)])),
        ("nothing but the image", edit_post(client, [IMAGE])),
        ("JSON body", json_post(client, EDITS, JSON, json_body)),
        ("urlencoded form", json_post(client, EDITS, "application/x-www-form-urlencoded", b"x=1")),
        ("multipart without boundary", json_post(client, EDITS, "multipart/form-data", broken)),
        ("unterminated multipart", json_post(client, EDITS, multipart, broken)),
        ("empty multipart", json_post(client, EDITS, multipart, b"")),
        ("no content-type", json_post(client, EDITS, "", broken)),
    ]
    assert_none(case_problems(client, EDITS, cases))


def test_the_service_is_sound_after_the_fuzz(client: TestClient) -> None:
    """Runs last in this module: whatever came before left the service healthy and idle."""
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok", response.text
    queue = built(client).service.queue
    wait_until(lambda: queue.running is None and not list(queue.waiting), "an empty queue")
