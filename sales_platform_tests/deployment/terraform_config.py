"""deploy/*.tf parsed with python-hcl2, with the declarations and references the tests check.

Expressions stay text (`${var.x}`); references are read out of the `${...}` parts only, so a
string such as "s3:prefix" or "ecs-tasks.amazonaws.com" is never taken for one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
_INTERPOLATION = re.compile(r"\$\{")
_VAR = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_LOCAL = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
_MODULE = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)")
_DATA = re.compile(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)(\[)?")
_COLLECTION_USE = re.compile(r"(\bin|\b(?:values|keys|length)\()\s*$")
_RESOURCE = re.compile(r"(?<![\w.])((?:aws|random)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[)?")


@dataclass
class Reference:
    kind: str  # var | local | module | data | resource
    name: str  # x, or type.name
    indexed: bool  # followed by [ (count/for_each instance)
    file: str
    in_depends_on: bool = False  # depends_on names whole resources, never instances
    as_collection: bool = False  # `for x in r`, values(r), keys(r), length(r): all instances at once


@dataclass
class TerraformConfig:
    folder: Path
    files: dict[str, dict[str, Any]]
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> body
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)

    def resources_of(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name.split(".", 1)[1]: body for name, body in self.resources.items() if name.startswith(kind + ".")}

    def data_of(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name.split(".", 1)[1]: body for name, body in self.data.items() if name.startswith(kind + ".")}


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a parsed value (keys of objects included)."""
    for text, _ in _strings_in_context(value, False):
        yield text


def _strings_in_context(value: Any, in_depends_on: bool) -> Iterator[tuple[str, bool]]:
    if isinstance(value, str):
        yield value, in_depends_on
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key), in_depends_on
            yield from _strings_in_context(item, in_depends_on or key == "depends_on")
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in_context(item, in_depends_on)


def expressions(text: str) -> str:
    """Only the interpolated parts of a string: what Terraform evaluates."""
    parts, depth, start = [], 0, None
    index = 0
    while index < len(text):
        if text.startswith("${", index):
            if depth == 0:
                start = index + 2
            depth += 1
            index += 2
            continue
        if text[index] == "{" and depth:
            depth += 1
        elif text[index] == "}" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                parts.append(text[start:index])
        index += 1
    return "\n".join(parts)


def _references(text: str, file: str, in_depends_on: bool) -> Iterator[Reference]:
    code = expressions(text)
    for match in _VAR.finditer(code):
        yield Reference("var", match.group(1), False, file, in_depends_on)
    for match in _LOCAL.finditer(code):
        yield Reference("local", match.group(1), False, file, in_depends_on)
    for match in _MODULE.finditer(code):
        yield Reference("module", match.group(1), False, file, in_depends_on)
    for match in _DATA.finditer(code):
        name = f"{match.group(1)}.{match.group(2)}"
        yield Reference("data", name, bool(match.group(3)), file, in_depends_on)
    for match in _RESOURCE.finditer(code):
        start = match.start()
        if code[max(0, start - 5) : start] == "data.":
            continue
        name = f"{match.group(1)}.{match.group(2)}"
        collection = bool(_COLLECTION_USE.search(code[max(0, start - 10) : start]))
        yield Reference("resource", name, bool(match.group(3)), file, in_depends_on, collection)


def load_terraform(folder: Path) -> TerraformConfig:
    files = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            files[path.name] = hcl2.load(handle, serialization_options=_OPTIONS)
    config = TerraformConfig(folder, files)
    for file, parsed in files.items():
        for block in parsed.get("variable", []):
            config.variables.update(block)
        for block in parsed.get("output", []):
            config.outputs.update(block)
        for block in parsed.get("locals", []):
            config.locals.update(block)
        for block in parsed.get("module", []):
            config.modules.update(block)
        for kind, target in (("resource", config.resources), ("data", config.data)):
            for block in parsed.get(kind, []):
                for type_name, named in block.items():
                    for name, body in named.items():
                        target[f"{type_name}.{name}"] = body
        for text, in_depends_on in _strings_in_context(parsed, False):
            if _INTERPOLATION.search(text):
                config.references.extend(_references(text, file, in_depends_on))
    return config
