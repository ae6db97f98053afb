"""The one validation layer every request passes at the gRPC edge, before any handler runs.

Driven by the protobuf descriptors, so a new RPC is covered without new code. Per-field
facts are declared in the .proto files with the `(motcua.options.v1.field)` option
(protos/motcua/options/v1/field.proto); every field of every message is walked, nested
messages, repeated fields and maps included:

- strings: no control characters (newline and tab only where the field is `multiline`,
  CRLF there becoming LF), no lone surrogates; normalised to NFC in place; at most `max_length` characters
  (DEFAULT_MAX_LENGTH when the field declares none);
- google.protobuf.Timestamp: seconds within 0001-01-01..9999-12-31, nanos within
  0..999,999,999, and the field's `min_year`..`max_year` where declared;
- enums: a value the enum defines; floats and doubles: finite.

Domain rules (a citizen ID's structure, a required field) stay in the services.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, NamedTuple

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from motcua.options.v1 import field_pb2
from motcua_common.errors import FieldViolation, InvalidArgument

DEFAULT_MAX_LENGTH = 512
#: a refusal names at most this many fields (the answer must stay well inside grpc's metadata limit)
MAX_VIOLATIONS = 10
TIMESTAMP = "google.protobuf.Timestamp"
MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# C0 and C1 controls, DEL, lone surrogates; single-line text also refuses line and paragraph separators.
_FORBIDDEN_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class Rules(NamedTuple):
    multiline: bool
    max_length: int
    min_seconds: int
    max_seconds: int


class _TooMany(Exception):
    pass


@lru_cache(maxsize=None)
def rules_of(field: FieldDescriptor) -> Rules:
    options = field.GetOptions()
    declared = options.Extensions[field_pb2.field] if options.HasExtension(field_pb2.field) else field_pb2.FieldRules()
    min_seconds, max_seconds = MIN_SECONDS, MAX_SECONDS
    if declared.min_year:
        min_seconds = max(min_seconds, _year_start(declared.min_year))
    if declared.max_year:
        max_seconds = min(max_seconds, _year_start(declared.max_year + 1) - 1)
    return Rules(declared.multiline, declared.max_length or DEFAULT_MAX_LENGTH, min_seconds, max_seconds)


def _year_start(year: int) -> int:
    if year > 9999:
        return MAX_SECONDS + 1
    return int((datetime(max(year, 1), 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())


def validate_request(message: Message) -> None:
    """Check `message` in place (strings become NFC); raise InvalidArgument naming each bad field."""
    violations: list[FieldViolation] = []
    try:
        _check_message(message, "", violations)
    except _TooMany:
        pass
    if violations:
        raise InvalidArgument(violations)


def _add(violations: list[FieldViolation], path: str, description: str) -> None:
    violations.append(FieldViolation(path, description))
    if len(violations) >= MAX_VIOLATIONS:
        raise _TooMany


def _check_message(message: Message, path: str, violations: list[FieldViolation]) -> None:
    for field, value in message.ListFields():
        name = f"{path}.{field.name}" if path else field.name
        if _is_map(field):
            _check_map(field, value, name, violations)
        elif field.is_repeated:
            for i, item in enumerate(value):
                fixed = _check_value(field, item, f"{name}[{i}]", violations)
                if fixed is not None:
                    value[i] = fixed
        else:
            fixed = _check_value(field, value, name, violations)
            if fixed is not None:
                setattr(message, field.name, fixed)


def _check_map(field: FieldDescriptor, entries: Any, name: str, violations: list[FieldViolation]) -> None:
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    for key in list(entries):
        item_path = f"{name}[{key!r}]" if isinstance(key, str) else f"{name}[{key}]"
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            _check_value(value_field, entries[key], item_path, violations, rules_of(field))
        else:
            fixed = _check_value(value_field, entries[key], item_path, violations, rules_of(field))
            if fixed is not None:
                entries[key] = fixed
        if isinstance(key, str):
            fixed_key = _check_string(key, f"{name} key", Rules(False, rules_of(key_field).max_length, 0, 0),
                                      violations)
            if fixed_key is not None and fixed_key not in entries:
                entries[fixed_key] = entries[key]
                del entries[key]


def _check_value(field: FieldDescriptor, value: Any, path: str, violations: list[FieldViolation],
                 rules: Rules | None = None) -> Any:
    """Check one value; return its normalised replacement when it changed (strings only)."""
    rules = rules or rules_of(field)
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _check_string(value, path, rules, violations)
    if kind == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == TIMESTAMP:
            _check_timestamp(value, path, rules, violations)
        else:
            _check_message(value, path, violations)
    elif kind == FieldDescriptor.TYPE_ENUM:
        if field.enum_type.values_by_number.get(value) is None:
            _add(violations, path, f"is not a {field.enum_type.name} value")
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if not math.isfinite(value):
            _add(violations, path, "must be a finite number")
    return None


def _check_string(value: str, path: str, rules: Rules, violations: list[FieldViolation]) -> str | None:
    original = value
    if rules.multiline and "\r\n" in value:
        value = value.replace("\r\n", "\n")  # Windows line ends become line breaks; a lone CR stays refused
    forbidden = (_FORBIDDEN_MULTILINE if rules.multiline else _FORBIDDEN_SINGLE_LINE).search(value)
    if forbidden:
        allowed = " (line breaks and tabs are allowed)" if rules.multiline else ""
        _add(violations, path, f"must not contain control characters: U+{ord(forbidden.group()):04X} at "
                               f"position {forbidden.start()}{allowed}")
        return None
    normalised = value if value.isascii() else unicodedata.normalize("NFC", value)
    if len(normalised) > rules.max_length:
        _add(violations, path, f"must be at most {rules.max_length} characters")
        return None
    return normalised if normalised != original else None


def _check_timestamp(value: Message, path: str, rules: Rules, violations: list[FieldViolation]) -> None:
    if not 0 <= value.nanos <= 999_999_999:
        _add(violations, path, "nanos must be between 0 and 999,999,999")
    elif not MIN_SECONDS <= value.seconds <= MAX_SECONDS:
        _add(violations, path, "must be between 0001-01-01 and 9999-12-31 (UTC)")
    elif not rules.min_seconds <= value.seconds <= rules.max_seconds:
        low = _EPOCH + timedelta(seconds=rules.min_seconds)
        high = _EPOCH + timedelta(seconds=rules.max_seconds)
        _add(violations, path, f"must be between {low:%Y-%m-%d} and {high:%Y-%m-%d} (UTC)")


def _is_map(field: FieldDescriptor) -> bool:
    return (field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE
            and field.message_type.GetOptions().map_entry)
