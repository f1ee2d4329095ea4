"""Each method's arguments, declared once: a pydantic model per method parses the call and describes it in the
OpenAPI document (its query parameters or request body come from ``model_json_schema()``).

Frappe's coercions are the models' validators: query and form values are text, JSON values keep their types,
so a text argument also takes a JSON number and a whole-number argument also takes a string of digits. Each
validator raises the ValidationError the wire has always answered, naming the argument, and the first bad
argument (in the order a model declares them) is the one reported. Bounds that depend on the settings (the
search's words and length) stay with the domain; a bound a model states only for the document is
``json_schema_extra``, so the domain's message is the one a client sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError, ValidationInfo, model_validator

from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import ValidationFailedError

#: Larger whole numbers are refused rather than passed to the database (they overflow its integers).
LARGEST = 2**31 - 1
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")

#: JSON Schema of an OpenAPI fragment.
Schema = dict[str, Any]
A = TypeVar("A", bound=BaseModel)


# --- Frappe's coercions ----------------------------------------------------------------------------------------


def _text(value: Any, info: ValidationInfo) -> str | None:
    """Text, or a JSON number taken as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValidationFailedError(f"{info.field_name} must be text")


def _whole_number(value: Any, info: ValidationInfo) -> int | None:
    """A JSON number or a string of digits, in a query, a form or a JSON body alike (blank means absent); true,
    false and 1.5 are not."""
    key = info.field_name
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailedError(f"{key} must be a whole number")
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        digits = value.strip().lstrip("+-")
        if len(digits.lstrip("0")) > len(str(LARGEST)):  # before int(): Python refuses 4,300+ digits
            raise ValidationFailedError(f"{key} is too large")
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValidationFailedError(f"{key} must be a whole number")
    if abs(value) > LARGEST:
        raise ValidationFailedError(f"{key} is too large")
    return value


def _text_only(value: Any) -> str | None:
    """Text, anything else as absent (a login's credentials)."""
    return value if isinstance(value, str) else None


Text = Annotated[str | None, BeforeValidator(_text)]
WholeNumber = Annotated[int | None, BeforeValidator(_whole_number)]
TextOnly = Annotated[str | None, BeforeValidator(_text_only)]


class Arguments(BaseModel):
    """A method's arguments: other keys a call sends are ignored, as Frappe ignores what a method does not take."""


class Complete(Arguments):
    """Arguments whose every field is validated, present or not, so a missing one is reported in its turn
    (its validator sees None) rather than after the fields that follow it."""

    @model_validator(mode="before")
    @classmethod
    def _every_field(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {name: None for name in cls.model_fields} | data
        return data


def parse(model: type[A], data: Mapping[str, Any], **context: Any) -> A:
    """``data`` read into ``model`` (``context`` reaches its validators): its ValidationError when a value is
    refused."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:  # a value no validator of ours judged: still refused in the wire's shape
        first = exc.errors()[0]
        label = ".".join(str(part) for part in first["loc"])
        raise ValidationFailedError(f"{label} is not valid.") from None


# --- the OpenAPI document --------------------------------------------------------------------------------------


def _inline(schema: Any, defs: Mapping[str, Any]) -> Any:
    """``schema`` with its ``$ref`` to ``$defs`` replaced by what they name, and pydantic's titles and null
    defaults left out (the document describes arguments, not Python classes)."""
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    return {
        key: _inline(value, defs) if key != "properties" else {k: _inline(v, defs) for k, v in value.items()}
        for key, value in schema.items()
        if key not in ("title", "$defs") and not (key == "default" and value is None)
    }


def schema(model: type[BaseModel]) -> Schema:
    """The JSON Schema of what a model parses, self-contained."""
    generated = model.model_json_schema()
    return dict(_inline(generated, generated.get("$defs", {})))


def _not_null(prop: Schema) -> Schema:
    """A query value's schema: it is never null."""
    variants = [v for v in prop.get("anyOf", ()) if v.get("type") != "null"]
    if len(variants) != 1:
        return prop
    return {**{k: v for k, v in prop.items() if k != "anyOf"}, **variants[0]}


def query_parameters(model: type[BaseModel], required: tuple[str, ...] = ()) -> tuple[Schema, ...]:
    """A model's fields as query parameters, optional but for those named ``required`` (which the domain checks:
    the model lets them be absent so that the domain's own message answers)."""
    parameters = []
    for name, prop in schema(model)["properties"].items():
        described = _not_null(prop)
        description = described.pop("description", "")
        parameters.append(
            {"name": name, "in": "query", "required": name in required, "description": description, "schema": described}
        )
    return tuple(parameters)


def request_body(model: type[BaseModel], *media: str, required: bool = True) -> Schema:
    """A model as the request body, in each of the ``media`` types."""
    body = schema(model)
    return {"required": required, "content": {kind: {"schema": body} for kind in media}}


def name_field(description: str = "") -> Any:
    """A document name's field: at most the longest name, as the document says (the domain checks it)."""
    return Field(default=None, description=description or None, json_schema_extra={"maxLength": NAME_LENGTH})
