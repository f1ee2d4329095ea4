"""web/frappe.py alone (no app, no database): how a call's arguments are read as Frappe reads them (the body
whatever its content type, query and form fields, the keys Frappe consumes), and the envelopes and error
bodies of v1 and v2. The same rules over HTTP are in test_wire.py and test_routes.py."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from erpnext_medusa.domain.errors import (
    AuthenticationError,
    LoginFailedError,
    ServiceError,
    ValidationFailedError,
)
from erpnext_medusa.web.frappe import (
    NOT_JSON,
    V1,
    V2,
    Call,
    api_version,
    arguments,
    envelope,
    error_body,
    exception_line,
    not_whitelisted,
    plain_text,
    read_call,
)


def read(body: bytes = b"", content_type: str | None = None, query: str = "", verb: str = "POST", **kw: str) -> Call:
    """The Call ``read_call`` makes of one request."""
    headers = [(b"content-type", content_type.encode())] if content_type else []
    scope = {"type": "http", "method": verb, "path": "/api/method/m", "query_string": query.encode(),
             "headers": headers}  # fmt: skip
    sent = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, object]:
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    return asyncio.run(read_call(Request(scope, receive), "m", **kw))


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


# --- reading the arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [JSON, "application/vnd.api+json", "Application/JSON; charset=utf-8"])
def test_a_json_object_body_is_the_arguments_alone(content_type):
    call = read(b'{"name": "ali", "limit": 5}', content_type, query="name=ignored&extra=1")
    assert call.args == {"name": "ali", "limit": 5}
    assert call.json_body == {"name": "ali", "limit": 5}
    assert call.query_keys == {"name", "extra"}


def test_a_json_list_body_is_the_data_argument():
    assert read(b"[1, 2]", JSON).args == {"data": [1, 2]}


@pytest.mark.parametrize("body", [b'"text"', b"42", b"null", b"true"])
def test_a_json_body_that_is_neither_an_object_nor_a_list_has_no_arguments(body):
    call = read(body, JSON)
    assert call.args is None
    with pytest.raises(ValidationFailedError) as err:
        arguments(call)
    assert err.value.message == "Invalid request arguments"


def test_query_and_form_fields_overlay_and_the_first_of_repeated_fields_counts():
    call = read(urlencode([("name", "form"), ("name", "second"), ("city", "Dubai")]).encode(), FORM,
                query="name=query&limit=5&limit=6")  # fmt: skip
    assert call.args == {"name": "form", "limit": "5", "city": "Dubai"}
    assert arguments(call) is call.args


def test_a_body_is_parsed_as_json_whatever_its_content_type():
    call = read(b'{"customer_id": "Acme"}', "text/plain", query="a=1")
    assert call.json_body == {"customer_id": "Acme"}
    assert call.args == {"a": "1"}  # the arguments of a non-JSON request are the query and form fields


@pytest.mark.parametrize("body", [b"", b"   ", b"{not json", b"[" * 60_000])
def test_a_body_that_is_not_json_is_marked_so(body):
    assert read(body, JSON).json_body is NOT_JSON


def test_an_empty_json_body_falls_back_to_the_query():
    assert read(b"", JSON, query="name=ali").args == {"name": "ali"}


@pytest.mark.parametrize("where", ["json", "form", "query"])
def test_the_keys_frappe_consumes_are_taken_out_of_the_arguments(where):
    fields = {"_": "1", "sid": "s", "csrf_token": "t", "cmd": "ping", "name": "ali"}
    if where == "json":
        call = read(json.dumps(fields).encode(), JSON)
    elif where == "form":
        call = read(urlencode(fields).encode(), FORM)
    else:
        call = read(query=urlencode(fields), verb="GET")
    assert call.args == {"name": "ali"}
    assert (call.cmd, call.csrf_token) == ("ping", "t")


def test_the_sid_is_read_from_the_body_never_from_the_url():
    assert read(query="sid=from-url", verb="GET").sid is None
    assert read(b"sid=from-form", FORM, query="sid=from-url").sid == "from-form"
    assert read(b'{"sid": "from-json"}', JSON).sid == "from-json"


@pytest.mark.parametrize("value", ["", 42, ["ping"], None])
def test_a_consumed_key_that_is_not_text_is_absent(value):
    call = read(json.dumps({"cmd": value, "sid": value, "csrf_token": value}).encode(), JSON)
    assert (call.cmd, call.sid, call.csrf_token) == (None, None, None)


def test_the_verb_is_upper_case_and_the_version_kept():
    call = read(verb="get", version=V2)
    assert (call.method, call.verb, call.version) == ("m", "GET", V2)


@pytest.mark.parametrize(
    ("path", "version"),
    [("/api/method/ping", V1), ("/api/v1/method/ping", V1), ("/api/v2/method/ping", V2), ("/", V1),
     ("/api/v2", V1)],
)  # fmt: skip
def test_the_path_says_which_envelope_answers(path, version):
    assert api_version(path) == version


# --- answers and errors --------------------------------------------------------------------------------------


def test_the_envelopes():
    assert envelope("pong") == {"message": "pong"}
    assert envelope([], V2) == {"data": []}
    assert envelope(0) == {"message": 0}  # a falsy value is still an answer
    assert envelope(None) == envelope(None, V2) == {}


def test_the_exception_line_is_the_class_and_the_plain_message():
    assert exception_line(ValidationFailedError("limit is <b>bad</b>")) == (
        "frappe.exceptions.ValidationError: limit is &lt;b&gt;bad&lt;/b&gt;"
    )
    assert exception_line(AuthenticationError()) == "frappe.exceptions.AuthenticationError"
    assert exception_line(ServiceError("boom")) == "Exception: boom"  # Frappe's bare class for a 500


def test_markup_of_our_own_is_dropped_from_plain_text_and_input_stays_escaped():
    refusal = not_whitelisted("x<y>")
    assert plain_text(refusal) == (
        "You are not permitted to access this resource. Login to access Function x&lt;y&gt; is not whitelisted."
    )
    assert "<strong>x&lt;y&gt;</strong>" in refusal.message
    assert (refusal.http_status, refusal.exc_type, refusal.title) == (403, "PermissionError", "Method Not Allowed")


def test_a_v1_error_body_carries_the_line_in_exception_and_exc_and_the_messages():
    body = error_body(ValidationFailedError("name & <city>"))
    line = "frappe.exceptions.ValidationError: name &amp; &lt;city&gt;"
    assert set(body) == {"exception", "exc_type", "exc", "_server_messages"}
    assert body["exception"] == line and json.loads(body["exc"]) == [line]
    (entry,) = [json.loads(e) for e in json.loads(body["_server_messages"])]
    assert entry["message"] == "name &amp; &lt;city&gt;"
    assert (entry["title"], entry["indicator"], entry["raise_exception"]) == ("Message", "red", 1)
    assert len(entry["__frappe_exc_id"]) == 56


def test_a_bare_authentication_error_has_no_messages_and_a_failed_login_says_why_in_message():
    assert error_body(AuthenticationError("Invalid token")) == {
        "exception": "frappe.exceptions.AuthenticationError: Invalid token",
        "exc_type": "AuthenticationError",
        "exc": '["frappe.exceptions.AuthenticationError: Invalid token"]',
    }
    login = error_body(LoginFailedError("Invalid login credentials"))
    assert next(iter(login)) == "message" and login["message"] == "Invalid login credentials"
    assert "_server_messages" not in login


def test_a_v2_error_body_is_one_entry_of_errors():
    assert error_body(ValidationFailedError("a <b>"), V2) == {
        "errors": [
            {
                "type": "ValidationError",
                "exception": "frappe.exceptions.ValidationError: a &lt;b&gt;",
                "message": "a &lt;b&gt;",
                "title": "Message",
                "indicator": "red",
            }
        ]
    }
    assert error_body(AuthenticationError(), V2) == {
        "errors": [{"type": "AuthenticationError", "exception": "frappe.exceptions.AuthenticationError"}]
    }
