"""Compiled converters between the state dataclasses and JSON-able data (``engine.snapshot``).

For each dataclass the first use generates one Python function from its type hints (as
``dataclasses`` itself generates ``__init__``): the dumper builds the dict in one literal with
every field converted inline (Decimals through ``str``, enums through ``.value``, nested
dataclasses through their own compiled function), and the loader reads each key, checks its
JSON type inline and calls the constructor once. Nothing reflects on types per value any
more, which is what made the generic walk slow (15 ms for a 10-group state).

The loader is the fast path for data that is as the dumper wrote it: any mismatch raises
:class:`Invalid` (or the error of the failing conversion) without saying where; the caller
then re-reads the data with the validating walk, which names the field.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Union

from engine.config import UserConfig, parse_user_config, user_config_to_dict

__all__ = ["Invalid", "LOAD_ERRORS", "dumper", "loader", "free"]

Converter = Callable[[Any], Any]


class Invalid(Exception):
    """The fast loader met data it does not expect (the validating walk explains it)."""


# what a fast load may raise on bad data, besides Invalid
LOAD_ERRORS = (Invalid, KeyError, TypeError, ValueError, ArithmeticError, AttributeError)


def _bad() -> Any:
    raise Invalid


def free(value: Any) -> Any:
    """JSON-able copy of a free-form value (``Any``): Decimals as strings, enums as values."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict:
        return {(key if type(key) is str else str(key)): free(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [free(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): free(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [free(item) for item in value]
    return value


def _dump_config(config: Any) -> Any:
    if not isinstance(config, UserConfig):
        raise TypeError(f"cannot snapshot {type(config).__name__} as a user config")
    return user_config_to_dict(config)


def _optional(hint: Any) -> Any | None:
    """``X`` for ``X | None``; ``None`` when the hint is not optional."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"unsupported union {hint!r}")
        return inner[0]
    return None


def _homogeneous(hint: Any) -> Any | None:
    """The item type of ``list[X]`` and ``tuple[X, ...]``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return args[0]
    return None


class _Source:
    """Names given to the helper objects a generated function refers to."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_bad": _bad, "_D": Decimal, "_free": free}
        self._names: dict[int, str] = {}

    def name(self, value: Any) -> str:
        key = id(value)
        if key not in self._names:
            self._names[key] = f"_h{len(self._names)}"
            self.namespace[self._names[key]] = value
        return self._names[key]


# ---------------------------------------------------------------------------- dumping
def _dump_expr(hint: Any, src: str, names: _Source, depth: int) -> str:
    """A Python expression converting the value ``src`` (a cheap expression) of ``hint``."""
    if hint in (int, str, bool):
        return src
    if hint is Decimal:
        return f"str({src})"
    if hint is Any:
        return f"_free({src})"
    if hint is object:
        return f"{names.name(_dump_config)}({src})"
    if isinstance(hint, type) and issubclass(hint, Enum):
        return f"{src}.value"
    inner = _optional(hint)
    if inner is not None:
        return f"(None if {src} is None else {_dump_expr(inner, src, names, depth)})"
    if dataclasses.is_dataclass(hint):
        return f"{names.name(dumper(hint))}({src})"  # type: ignore[arg-type]
    item = _homogeneous(hint)
    var = f"_i{depth}"
    if item is not None:
        converted = _dump_expr(item, var, names, depth + 1)
        return f"list({src})" if converted == var else f"[{converted} for {var} in {src}]"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is dict:
        key = f"_k{depth}"
        key_out = f"str({key})" if args[0] is int else key
        converted = _dump_expr(args[1], var, names, depth + 1)
        if key_out == key and converted == var:
            return f"dict({src})"
        return f"{{{key_out}: {converted} for {key}, {var} in {src}.items()}}"
    if origin is tuple:  # fixed-length tuple
        parts = [
            _dump_expr(arg, f"{src}[{index}]", names, depth + 1) for index, arg in enumerate(args)
        ]
        return f"[{', '.join(parts)}]"
    raise TypeError(f"cannot snapshot values of type {hint!r}")


@cache
def dumper(cls: type) -> Converter:
    """The compiled function turning an instance of dataclass ``cls`` into a dict."""
    hints = typing.get_type_hints(cls)
    names = _Source()
    items = [
        f"{field.name!r}: {_dump_expr(hints[field.name], f'value.{field.name}', names, 0)}"
        for field in dataclasses.fields(cls)
    ]
    body = ",\n        ".join(items)
    source = f"def dump(value):\n    return {{\n        {body}\n    }}\n"
    exec(compile(source, f"<snapshot dumper of {cls.__name__}>", "exec"), names.namespace)
    function: Converter = names.namespace["dump"]
    return function


# ---------------------------------------------------------------------------- loading
def _check(kind: str, src: str) -> str:
    return f"({src} if type({src}) is {kind} else _bad())"


def _load_expr(hint: Any, src: str, names: _Source, depth: int) -> str:
    """A Python expression rebuilding a value of ``hint`` from the JSON value ``src``."""
    if hint in (int, str, bool):
        return _check(hint.__name__, src)
    if hint is Decimal:
        return f"(_D({src}) if type({src}) is str else _bad())"
    if hint is Any:
        return src
    if hint is object:
        return f"{names.name(_load_config)}({src})"
    if isinstance(hint, type) and issubclass(hint, Enum):
        # a plain dict lookup (KeyError on an unknown value) instead of Enum.__call__
        members = {member.value: member for member in hint}
        return f"{names.name(members)}[{src}]"
    inner = _optional(hint)
    if inner is not None:
        return f"(None if {src} is None else {_load_expr(inner, src, names, depth)})"
    if dataclasses.is_dataclass(hint):
        return f"{names.name(loader(hint))}({src})"  # type: ignore[arg-type]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    var = f"_i{depth}"
    item = _homogeneous(hint)
    if item is not None:
        converted = _load_expr(item, var, names, depth + 1)
        listed = f"[{converted} for {var} in {_check('list', src)}]"
        return listed if origin is list else f"tuple({listed})"
    if origin is dict:
        key = f"_k{depth}"
        key_in = f"int({key})" if args[0] is int else key
        converted = _load_expr(args[1], var, names, depth + 1)
        return f"{{{key_in}: {converted} for {key}, {var} in {_check('dict', src)}.items()}}"
    if origin is tuple:  # fixed-length tuple
        function = names.name(_fixed_tuple_loader(args))
        return f"{function}({src})"
    raise TypeError(f"cannot restore values of type {hint!r}")


def _fixed_tuple_loader(args: tuple[Any, ...]) -> Converter:
    names = _Source()
    parts = [_load_expr(arg, f"data[{index}]", names, 1) for index, arg in enumerate(args)]
    source = (
        "def load(data):\n"
        f"    if type(data) is not list or len(data) != {len(args)}:\n"
        "        _bad()\n"
        f"    return ({', '.join(parts)},)\n"
    )
    exec(compile(source, "<snapshot tuple loader>", "exec"), names.namespace)
    function: Converter = names.namespace["load"]
    return function


_CONFIGS: dict[str, UserConfig] = {}
_CONFIGS_KEPT = 64


def _load_config(data: Any) -> UserConfig:
    """Configs repeat from snapshot to snapshot: the validated config (frozen, so it can be
    shared) is reused for the same JSON document."""
    if type(data) is not dict:
        raise Invalid
    key = json.dumps(data, sort_keys=True)
    config = _CONFIGS.get(key)
    if config is None:
        config = parse_user_config(data)
        if len(_CONFIGS) >= _CONFIGS_KEPT:
            _CONFIGS.clear()
        _CONFIGS[key] = config
    return config


_MISSING = object()
_INTERNED_KEPT = 4096


def _text_only(hint: Any) -> bool:
    """Whether every valid JSON form of ``hint`` is a string (or null): such values compare
    equal only when they are the same text, so they can key a memo safely."""
    inner = _optional(hint)
    if inner is not None:
        return _text_only(inner)
    if hint is str or hint is Decimal:
        return True
    return (
        isinstance(hint, type)
        and issubclass(hint, Enum)
        and all(isinstance(member.value, str) for member in hint)
    )


def _interned(cls: type, build: Converter) -> Converter:
    """Frozen dataclasses of text-only fields (grid levels, market rules) repeat many times
    in a state: each distinct one is built once and shared (they are immutable)."""
    names = [field.name for field in dataclasses.fields(cls)]
    built: dict[tuple[Any, ...], Any] = {}

    def load(data: Any) -> Any:
        if type(data) is not dict:
            raise Invalid
        key = tuple([data.get(name, _MISSING) for name in names])
        found = built.get(key)
        if found is None:
            if len(built) >= _INTERNED_KEPT:
                built.clear()
            found = built[key] = build(data)
        return found

    return load


@cache
def loader(cls: type) -> Converter:
    """The compiled function rebuilding an instance of dataclass ``cls`` from a dict.

    A field with a default may be absent (snapshots written before the field existed)."""
    hints = typing.get_type_hints(cls)
    names = _Source()
    names.namespace["_MISSING"] = _MISSING
    lines = ["def load(data):", "    if type(data) is not dict:", "        _bad()"]
    arguments = []
    fields = dataclasses.fields(cls)
    for index, field in enumerate(fields):
        local = f"_f{index}"
        converted = _load_expr(hints[field.name], "value", names, 0)
        if field.default is not dataclasses.MISSING:
            default = names.name(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = f"{names.name(field.default_factory)}()"
        else:
            lines.append(f"    value = data[{field.name!r}]")
            lines.append(f"    {local} = {converted}")
            arguments.append(f"{field.name}={local}")
            continue
        lines.append(f"    value = data.get({field.name!r}, _MISSING)")
        lines.append(f"    {local} = {default} if value is _MISSING else {converted}")
        arguments.append(f"{field.name}={local}")
    lines.append(f"    return {names.name(cls)}({', '.join(arguments)})")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<snapshot loader of {cls.__name__}>", "exec"), names.namespace)
    function: Converter = names.namespace["load"]
    params = getattr(cls, "__dataclass_params__", None)
    if params is not None and params.frozen and all(_text_only(hints[f.name]) for f in fields):
        return _interned(cls, function)
    return function
