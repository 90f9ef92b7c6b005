"""Typed job configuration: YAML defaults in ``conf/<job>.yaml`` loaded once into a dataclass.

Every job declares a dataclass whose field defaults are the documented defaults; the YAML file
in ``conf/`` mirrors them so users can edit one place, and ``--set key=value`` overrides either.
Nested dataclasses are addressed with dotted keys (``--set als.rank=20``). Unknown keys and
values of the wrong type are errors, never silently ignored.

One top-level key is reserved: ``spark``, a mapping of Spark settings this job needs (read by
:func:`job_spark_settings`; the CLI applies them over the Spark profile, and settings given to
``spark-submit`` win over both).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sparkfolio.runtime.errors import ConfigError

T = TypeVar("T")


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Build ``cls`` from its defaults, then the YAML file at ``path``, then ``key=value`` overrides.

    Raises
    ------
    ConfigError
        The file is missing or not a YAML mapping, a key is unknown, or a value has the wrong type.
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = read_yaml_mapping(path)
        data.pop(SPARK_KEY, None)  # the job's Spark settings: job_spark_settings
    cfg = _build(cls, data, where=str(path) if path else "defaults")
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value")
        cfg = apply_override(cfg, key.strip(), raw)
    return cfg


#: The reserved top-level key of a job's YAML that holds its Spark settings.
SPARK_KEY = "spark"


def job_spark_settings(path: str | Path | None) -> dict[str, str]:
    """The ``spark:`` mapping of a job's YAML (``{}`` without one), values as Spark strings.

    Raises
    ------
    ConfigError
        ``spark`` is not a mapping of ``spark.*`` keys to plain values.
    """
    if path is None:
        return {}
    section = read_yaml_mapping(path).get(SPARK_KEY)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: {SPARK_KEY!r} must be a mapping of Spark settings, not {type(section).__name__}")
    out: dict[str, str] = {}
    for key, value in section.items():
        if not isinstance(key, str) or not key.startswith("spark."):
            raise ConfigError(f"{path}: Spark setting {key!r} must start with 'spark.'")
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{path}: Spark setting {key} must be a plain value, not {type(value).__name__}")
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (an empty file is an empty mapping)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {p} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"config file {p} is not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping of keys to values, not {type(data).__name__}")
    return data


def apply_override(cfg: T, dotted_key: str, raw: str) -> T:
    """Return a copy of ``cfg`` with ``dotted_key`` set to ``raw`` parsed as YAML and type-checked."""
    head, _, rest = dotted_key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(cfg)}  # type: ignore[arg-type]
    if head not in fields:
        raise ConfigError(f"--set {dotted_key}: unknown key {head!r} (known: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(type(cfg))
    current = getattr(cfg, head)
    if rest:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"--set {dotted_key}: {head!r} has no sub-keys")
        return dataclasses.replace(cfg, **{head: apply_override(current, rest, raw)})  # type: ignore[type-var]
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    # A bare word YAML reads as bool/None stays a string where the field wants a string.
    return dataclasses.replace(cfg, **{head: _coerce(value, hints[head], f"--set {dotted_key}", raw)})  # type: ignore[type-var]


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain YAML-able values (for metrics.json and ``--help``)."""
    return dataclasses.asdict(cfg)


def _build(cls: type[T], data: dict[str, Any], where: str) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {name!r} must be a mapping")
            kwargs[name] = _build(tp, value, f"{where}: {name}")
        else:
            kwargs[name] = _coerce(value, tp, f"{where}: {name}", None)
    return cls(**kwargs)


def _coerce(value: Any, tp: Any, where: str, raw: str | None) -> Any:
    """Check ``value`` against the annotation ``tp``, converting where it is lossless."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, raw)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        if raw is not None and raw in args:
            return raw
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where, None) for v in value]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        # `--set similar_to=1984` or `--set name=yes`: the user meant the text they typed.
        if raw is not None:
            return raw
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value
