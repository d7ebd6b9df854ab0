"""Range requests on the UI's files answer like images: malformed ranges are ignored and
an unsatisfiable one is a 416 in the one error shape (Starlette alone answers plain text)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.http.test_generate_http import assert_error_shape

UI_FILES = ["/", "/static/ui.js"]


@pytest.mark.parametrize("path", UI_FILES)
@pytest.mark.parametrize("malformed", ["bytes=abc", "bytes=9-1", "items=0-9", "bytes=-", "bytes"])
def test_a_malformed_range_on_the_ui_is_ignored(
    mock_client: TestClient, path: str, malformed: str
) -> None:
    whole = mock_client.get(path)
    answer = mock_client.get(path, headers={"Range": malformed})
    assert (answer.status_code, answer.content) == (200, whole.content)


@pytest.mark.parametrize("path", UI_FILES)
def test_an_unsatisfiable_range_on_the_ui_is_a_416_in_the_error_shape(
    mock_client: TestClient, path: str
) -> None:
    size = len(mock_client.get(path).content)
    for beyond in (f"bytes={size}-", "bytes=-0", f"bytes={'9' * 5000}-"):
        answer = mock_client.get(path, headers={"Range": beyond, "X-Request-ID": "range-1"})
        assert answer.status_code == 416, beyond[:20]
        assert answer.headers["content-range"] == f"bytes */{size}"
        error = assert_error_shape(answer.json(), "range_not_satisfiable")
        assert error["request_id"] == "range-1"


@pytest.mark.parametrize("path", UI_FILES)
def test_a_satisfiable_range_on_the_ui_is_served(mock_client: TestClient, path: str) -> None:
    whole = mock_client.get(path).content
    part = mock_client.get(path, headers={"Range": "bytes=0-9"})
    assert (part.status_code, part.content) == (206, whole[:10])


def test_the_ui_still_answers_not_modified(mock_client: TestClient) -> None:
    first = mock_client.get("/static/ui.js")
    again = mock_client.get("/static/ui.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
