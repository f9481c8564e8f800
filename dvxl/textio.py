"""The text catalog: the directive, roster, periods and rubric as reviewable YAML.

``workbook/`` in the repository holds the seed directive in this form. The text
nests what belongs together (a task's indicators under the task, a group's
points under the group); the master workbook flattens the same data into one
table per sheet. :func:`dump_catalog` writes the one canonical form, so
text → master → text gives back the same bytes.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import yaml

from dvxl import atomic
from dvxl.catalog import Row, Tables, build, to_tables
from dvxl.errors import ConfigError
from dvxl.model import Catalog
from dvxl.schema import TABLE

FILES = ("directive.yaml", "units.yaml", "periods.yaml", "rubric.yaml", "report.yaml")
#: Files a catalog may lack (written by an older dvxl): their tables take the defaults.
OPTIONAL_FILES = ("report.yaml",)

# Keys allowed in each kind of entry, in the order they are written.
_KEYS: dict[str, tuple[str, ...]] = {
    "directive": ("code", "kind", "number", "date", "issuer", "subject", "cited"),
    "cited": ("number", "kind", "date", "issuer", "title"),
    "settings": ("province", "template_version", "sheet_password", "max_file_mb", "not_rated",
                 "only_accepted"),
    "groups": ("code", "name", "section", "letterhead"),
    "lists": ("code", "values"),
    "common_indicators": (
        "code",
        "position",
        "label",
        "help",
        "type",
        "unit",
        "required",
        "min",
        "max",
        "choices",
        "summary",
        "usual_min",
        "usual_max",
        "outlier_threshold",
    ),
    "tasks": ("code", "section", "title", "groups", "text", "indicators"),
    "indicators": (
        "code", "label", "help", "type", "unit", "required", "min", "max", "choices", "summary",
        "usual_min", "usual_max", "outlier_threshold",
    ),
    "rules": ("code", "task", "expression", "severity", "message"),
    "units": ("code", "name", "groups", "email", "letterhead"),
    "letterheads": tuple(c.field for c in TABLE["letterheads"].columns),
    "periods": ("code", "name", "start", "end", "deadline"),
    "points": ("group", "tasks"),
    "levels": ("code", "name", "min_score", "condition", "cap"),
    "issuing": tuple(c.field for c in TABLE["issuing"].columns),
    "format": tuple(c.field for c in TABLE["format"].columns),
}
_TOP: dict[str, tuple[str, ...]] = {
    "directive.yaml": (
        "directive",
        "settings",
        "groups",
        "lists",
        "common_indicators",
        "tasks",
        "rules",
    ),
    "units.yaml": ("units", "letterheads"),
    "periods.yaml": ("periods",),
    "rubric.yaml": ("points", "levels"),
    "report.yaml": ("issuing", "recipients", "format"),
}
# A fixed comment at the top of each file; export writes it back, so it survives the round trip.
_HEADERS = {
    "directive.yaml": (
        "# The seed directive: what it asks, of whom, and what each unit reports.\n"
        "# Authored from seeds/000_ebdb46170f0657d6.txt (2020 structure of the province).\n"
    ),
    "units.yaml": (
        "# Sample roster: the addressees of the seed directive in its 2020 structure, for the\n"
        "# stand-in province Bình An. The first group of a unit is the group it is scored and\n"
        "# ranked in; the others add the tasks addressed to them.\n"
        "# Letterheads: the heading and signature block of a unit's template, chosen by its\n"
        "# rating group (groups' letterhead in directive.yaml) unless the unit names its own.\n"
    ),
    "periods.yaml": (
        "# Reporting periods after Nghị định 09/2019/NĐ-CP, Điều 12: the year runs from 15/12\n"
        "# of the previous year to 14/12; the first half to 14/6, the second from 15/6.\n"
        "# Deadlines leave a few working days after the cut-off.\n"
    ),
    "rubric.yaml": (
        "# Points per task for each rating group (a unit's first group); each block sums to 100\n"
        "# and covers exactly the tasks addressed to the units rated in that group.\n"
        "# Levels: Quy định 366-QĐ/TW (2025; 100-point scale), highest first; a unit gets the\n"
        "# first level whose min_score and condition it meets.\n"
    ),
    "report.yaml": (
        "# The period report to the Standing Committee: who issues and signs it, where it goes,\n"
        "# and its format profile (Hướng dẫn 36-HD/VPTW by default; sizes in points, lengths\n"
        "# in millimetres). Change the profile here or in the master when the rules change.\n"
    ),
}
# YAML key -> model field where they differ.
_RENAME = {"min": "minimum", "max": "maximum"}


class _Loader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []

    def read(self, name: str) -> dict[str, Any]:
        path = self.folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if name not in OPTIONAL_FILES:
                self.problems.append(f"{path}: không tìm thấy tệp")
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{path}: không đọc được tệp ({exc})")
            return {}
        try:
            data = yaml.safe_load(unicodedata.normalize("NFC", text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f", dòng {mark.line + 1}" if mark is not None else ""
            self.problems.append(f"{name}{line}: sai cú pháp YAML ({getattr(exc, 'problem', exc)})")
            return {}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problems.append(f"{name}: tệp phải là một bảng khóa: giá trị")
            return {}
        for key in data:
            if key not in _TOP[name]:
                self.problems.append(
                    f"{name}: khóa «{key}» không dùng được (dùng: {', '.join(_TOP[name])})"
                )
        return data

    def entries(
        self, name: str, data: dict[str, Any], key: str
    ) -> list[tuple[str, dict[str, Any]]]:
        items = data.get(key) or []
        if not isinstance(items, list):
            self.problems.append(f"{name}: «{key}» phải là một danh sách")
            return []
        result = []
        for i, item in enumerate(items, 1):
            where = f"{name}: {key} #{i}"
            if not isinstance(item, dict):
                self.problems.append(f"{where}: mỗi mục phải là một bảng khóa: giá trị")
                continue
            if "code" in item:
                where += f" ({item['code']})"
            result.append((where, self.checked(where, key, item)))
        return result

    def checked(self, where: str, kind: str, item: dict[str, Any]) -> dict[str, Any]:
        for key in item:
            if key not in _KEYS[kind]:
                self.problems.append(
                    f"{where}: khóa «{key}» không dùng được (dùng: {', '.join(_KEYS[kind])})"
                )
        return {_RENAME.get(k, k): v for k, v in item.items()}


def load_tables(folder: Path) -> Tables:
    """Read the four catalog files into config tables (raising on unreadable text)."""
    loader = _Loader(folder)
    tables: Tables = {
        key: []
        for key in (
            "directive",
            "cited",
            "settings",
            "groups",
            "lists",
            "tasks",
            "indicators",
            "rules",
            "units",
            "periods",
            "rubric",
            "levels",
            "issuing",
            "recipients",
            "format",
            "letterheads",
        )
    }

    def row(where: str, values: dict[str, Any]) -> Row:
        return Row(where, values, in_sheet=False)

    main = loader.read("directive.yaml")
    directive = main.get("directive")
    if isinstance(directive, dict):
        values = loader.checked("directive.yaml: directive", "directive", directive)
        cited = values.pop("cited", None) or []
        tables["directive"].append(row("directive.yaml: directive", values))
        for i, doc in enumerate(cited if isinstance(cited, list) else [], 1):
            where = f"directive.yaml: directive.cited #{i}"
            if isinstance(doc, dict):
                tables["cited"].append(row(where, loader.checked(where, "cited", doc)))
    else:
        loader.problems.append("directive.yaml: thiếu mục «directive»")
    settings = main.get("settings")
    if isinstance(settings, dict):
        tables["settings"].append(
            row(
                "directive.yaml: settings",
                loader.checked("directive.yaml: settings", "settings", settings),
            )
        )
    else:
        loader.problems.append("directive.yaml: thiếu mục «settings»")

    for where, values in loader.entries("directive.yaml", main, "groups"):
        tables["groups"].append(row(where, values))
    for where, values in loader.entries("directive.yaml", main, "lists"):
        for value in values.get("values") or []:
            tables["lists"].append(row(where, {"code": values.get("code"), "value": value}))
    for where, values in loader.entries("directive.yaml", main, "common_indicators"):
        tables["indicators"].append(row(where, {"task": "*", **values}))
    for where, values in loader.entries("directive.yaml", main, "tasks"):
        indicators = values.pop("indicators", None) or []
        tables["tasks"].append(row(where, values))
        for i, item in enumerate(indicators if isinstance(indicators, list) else [], 1):
            inner = f"{where} indicators #{i}"
            if isinstance(item, dict):
                checked = loader.checked(inner, "indicators", item)
                tables["indicators"].append(row(inner, {"task": values.get("code"), **checked}))
    for where, values in loader.entries("directive.yaml", main, "rules"):
        tables["rules"].append(row(where, values))

    roster = loader.read("units.yaml")
    for where, values in loader.entries("units.yaml", roster, "units"):
        tables["units"].append(row(where, values))
    for where, values in loader.entries("units.yaml", roster, "letterheads"):
        tables["letterheads"].append(row(where, values))
    for where, values in loader.entries("periods.yaml", loader.read("periods.yaml"), "periods"):
        tables["periods"].append(row(where, values))
    rubric = loader.read("rubric.yaml")
    for where, values in loader.entries("rubric.yaml", rubric, "points"):
        points = values.get("tasks") or {}
        if not isinstance(points, dict):
            loader.problems.append(f"{where}: «tasks» phải là bảng mã nhiệm vụ: điểm")
            continue
        for task, value in points.items():
            tables["rubric"].append(
                row(
                    f"{where} task {task}",
                    {"group": values.get("group"), "task": task, "points": value},
                )
            )
    for where, values in loader.entries("rubric.yaml", rubric, "levels"):
        tables["levels"].append(row(where, values))

    report = loader.read("report.yaml")
    for key in ("issuing", "format"):
        block = report.get(key)
        if isinstance(block, dict):
            where = f"report.yaml: {key}"
            tables[key].append(row(where, loader.checked(where, key, block)))
        elif block is not None:
            loader.problems.append(f"report.yaml: «{key}» phải là một bảng khóa: giá trị")
    recipients = report.get("recipients") or []
    if not isinstance(recipients, list):
        loader.problems.append("report.yaml: «recipients» phải là một danh sách")
        recipients = []
    for i, text in enumerate(recipients, 1):
        tables["recipients"].append(row(f"report.yaml: recipients #{i}", {"recipient": text}))

    if loader.problems:
        raise ConfigError(loader.problems)
    return tables


def load_catalog(folder: Path) -> Catalog:
    """Load and check the text catalog in ``folder``."""
    return build(load_tables(folder))


# Writing --------------------------------------------------------------------


class _Flow(list[Any]):
    """A list written on one line: ``[A, B]``."""


class _FlowMap(dict[str, Any]):
    """A mapping written on one line: ``{'1.1': 25, '1.2': 25}``."""


class _Dumper(yaml.SafeDumper):
    pass


def _flow_list(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _flow_map(dumper: yaml.SafeDumper, data: _FlowMap) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(_Flow, _flow_list)
_Dumper.add_representer(_FlowMap, _flow_map)


def _entry(kind: str, values: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Keys in canonical order; empty values (and a zero cap) left out unless listed in ``keep``."""
    out: dict[str, Any] = {}
    for key in _KEYS[kind]:
        value = values.get(_RENAME.get(key, key))
        if isinstance(value, tuple):
            value = _Flow(value)
        empty = value is None or value is False or value == "" or value == ()
        if key in keep or not (empty or (key == "cap" and value == 0)):
            out[key] = value
    return out


def dump_texts(catalog: Catalog) -> dict[str, str]:
    """The four catalog files as text, in canonical form."""
    tables = to_tables(catalog)
    directive = _entry("directive", tables["directive"][0], keep=("number", "date"))
    directive["cited"] = [_entry("cited", c) for c in tables["cited"]]
    common = [_entry("common_indicators", i) for i in tables["indicators"] if i["task"] == "*"]
    tasks = []
    for task in tables["tasks"]:
        entry = _entry("tasks", task)
        entry["indicators"] = [
            _entry("indicators", i) for i in tables["indicators"] if i["task"] == task["code"]
        ]
        tasks.append(entry)
    points: dict[str, dict[str, Any]] = {}
    for item in tables["rubric"]:
        points.setdefault(item["group"], _FlowMap())[item["task"]] = item["points"]
    documents: dict[str, dict[str, Any]] = {
        "directive.yaml": {
            "directive": directive,
            "settings": _entry("settings", tables["settings"][0], keep=("sheet_password",)),
            "groups": [_entry("groups", g) for g in tables["groups"]],
            "lists": [{"code": c.code, "values": _Flow(c.values)} for c in catalog.lists],
            "common_indicators": common,
            "tasks": tasks,
            "rules": [_entry("rules", r) for r in tables["rules"]],
        },
        "units.yaml": {"units": [_entry("units", u) for u in tables["units"]]},
        "periods.yaml": {"periods": [_entry("periods", p) for p in tables["periods"]]},
        "rubric.yaml": {
            "points": [{"group": g, "tasks": t} for g, t in points.items()],
            "levels": [_entry("levels", lv) for lv in tables["levels"]],
        },
        "report.yaml": {
            "issuing": _entry("issuing", tables["issuing"][0], keep=_KEYS["issuing"]),
            "recipients": list(catalog.recipients),
            "format": _entry("format", tables["format"][0], keep=_KEYS["format"]),
        },
    }
    if tables["letterheads"]:  # left out when there are none (a catalog from an older dvxl)
        documents["units.yaml"]["letterheads"] = [
            _entry("letterheads", h) for h in tables["letterheads"]
        ]
    return {
        name: _HEADERS[name]
        + yaml.dump(
            doc,
            Dumper=_Dumper,
            allow_unicode=True,
            sort_keys=False,
            default_flow_style=False,
            width=10_000,
            indent=2,
        )
        for name, doc in documents.items()
    }


def dump_catalog(catalog: Catalog, folder: Path) -> list[Path]:
    """Write the catalog's four text files into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in dump_texts(catalog).items():
        path = folder / name
        atomic.write_text(path, text)
        written.append(path)
    return written
