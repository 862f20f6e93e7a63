"""Finding, reading and validating policy files; every problem becomes one readable PolicyError line."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dlpscan.entities import DataCategory, EntityTypes
from dlpscan.policy.schema import KEYS, PolicySpec, Rule, did_you_mean
from dlpscan.resources import data_dir

SUFFIXES = (".yaml", ".yml")


class PolicyError(Exception):
    """A policy cannot be found or is invalid. The message is one line: file, field path, what is wrong."""


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str  # first 12 hex digits of the sha256 of the file's bytes
    description: str
    rules: tuple[Rule, ...]
    source: Path

    @property
    def file_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if "file" in r.scope)

    def scope_rules(self, scope: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if scope in r.scope)

    @property
    def uses_edm(self) -> bool:
        """Whether decisions depend on exact data match counts: a rebuilt index re-evaluates files."""
        return any(r.uses_edm for r in self.rules)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *anchor' entries may be overridden by the mapping's own keys
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable: the base class reports it
                continue
            if duplicate:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", mark)
        return super().construct_mapping(node, deep=deep)


def builtin_policies() -> list[str]:
    """Names of the policies shipped with dlpscan."""
    return sorted(p.stem for p in _policy_files(data_dir("policies")))


def check_policy_file(
    path: Path, types: EntityTypes | None = None, categories: Mapping[str, DataCategory] | None = None
) -> Policy:
    """Read and validate one policy file; raise PolicyError with a one-line explanation.

    `types`, `categories`: the entity types and data categories rules may name (default: those of
    the shipped recognizers).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    data = _parse_yaml(path, text)
    try:
        context = {
            "types": types or _builtin_types(),
            "categories": tuple(categories if categories is not None else _builtin_categories()),
        }
        spec = PolicySpec.model_validate(data, context=context)
    except ValidationError as exc:
        raise PolicyError(f"{path}: {_describe(exc, data)}") from None
    return Policy(
        name=spec.name,
        version=hashlib.sha256(raw).hexdigest()[:12],
        description=spec.description.strip(),
        rules=tuple(spec.rules),
        source=path,
    )


def load_policy(
    name_or_path: str,
    extra_dirs: Iterable[Path] = (),
    types: EntityTypes | None = None,
    categories: Mapping[str, DataCategory] | None = None,
) -> Policy:
    """A policy by file path, or by name: user folders first (in order), then the shipped policies."""
    candidate = Path(name_or_path)
    if candidate.suffix in SUFFIXES or len(candidate.parts) > 1:
        return check_policy_file(candidate, types, categories)
    dirs = [*(Path(d) for d in extra_dirs), data_dir("policies")]
    known: list[str] = []
    for folder in dirs:
        for path in _policy_files(folder):
            if path.stem == name_or_path:
                return check_policy_file(path, types, categories)
            known.append(path.stem)
    names = sorted(set(known))
    raise PolicyError(
        f"unknown policy {name_or_path!r}{did_you_mean(name_or_path, names)}: "
        f"not a file and not one of {', '.join(names) or '(none)'}"
    )


def _builtin_types() -> EntityTypes:
    from dlpscan.detect.registry import entity_types

    return entity_types()


def _builtin_categories() -> dict[str, DataCategory]:
    from dlpscan.detect.categories import data_categories

    return data_categories()


def _policy_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = exc.problem or exc.context or "invalid YAML"
        if "expected <block end>" in what or "mapping values are not allowed" in what:
            what += " (check the indentation)"
        raise PolicyError(f"{path}: {where}YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: YAML syntax error: {exc}") from None
    if data is None:
        raise PolicyError(f"{path}: the file is empty; a policy needs 'name' and 'rules'")
    if not isinstance(data, dict):
        raise PolicyError(
            f"{path}: the top level must be a mapping with 'name' and 'rules', not a {_kind(data)}"
        )
    return data


def _describe(exc: ValidationError, data: Any) -> str:
    """All validation errors as one line: 'rules[2] (bulk).severity: ...; ...'."""
    problems = []
    for err in exc.errors(include_url=False):
        where = _location(err["loc"], data)
        problems.append(f"{where}: {_message(err)}" if where else _message(err))
    prefix = f"{len(problems)} problems: " if len(problems) > 1 else ""
    return prefix + "; ".join(problems)


def _location(loc: tuple[Any, ...], data: Any) -> str:
    """'rules[2] (bulk-records).min_distinct' from pydantic's loc, naming rules by their name."""
    out = ""
    node = data
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                out += f" ({node['name']})"
        elif isinstance(part, str) and not part.startswith(("function-", "constrained-")):
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


_WANTED = {
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "text",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
}


def _message(err: Any) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        return f"unknown key {key!r}{did_you_mean(key, KEYS)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{value!r} is not allowed; use {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not a valid name (lower-case letters, digits, '.', '_' and '-')"
    if kind == "greater_than_equal":
        return f"must be ≥ {ctx.get('ge')}, got {value!r}"
    if kind == "greater_than":
        return f"must be > {ctx.get('gt')}, got {value!r}"
    if kind in _WANTED:
        got = "it is empty" if value is None else f"not {_kind(value)} {value!r}"
        return f"must be {_WANTED[kind]}, {got}"
    if kind == "too_short":
        return "must not be empty"
    return str(err["msg"])


def _kind(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "text", list: "list", dict: "mapping"}
    return names.get(type(value), type(value).__name__)
