"""Many tables in one run: a selection of source tables, one step per table, in foreign-key order.

A :class:`TableSelection` (patterns such as ``orders``, ``shop.*``, ``*``; exclusions; views or
not; the target schema; per-table target names and modes) is held by a :class:`~qdbm_desktop.core.jobs.Job`
in place of its query and table. :func:`plan_tables` reads the source's catalog and orders the
tables parents first; :func:`run_tables` runs each as today's query-into-table migration of
``SELECT * FROM <table>`` (all-or-nothing per table), then creates the keys, indexes and foreign
keys on the target (the ``constraints`` step) once every table is loaded, so cyclic foreign keys
need nothing special.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from qdbm_desktop.core.dialects.base import Dialect, LoadMode, TableName
from qdbm_desktop.core.dialects.catalog import Relation, RelationKind, TableShape
from qdbm_desktop.core.errors import UsageError, one_line

#: The name of the step that creates keys, indexes and foreign keys after the loads.
CONSTRAINTS_STEP = "constraints"


@dataclass(frozen=True)
class TableOverride:
    """One selected table's own target name and mode (``None``: the selection's defaults)."""

    source: str
    target: str | None = None
    mode: str | None = None
    keys: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source}
        if self.target:
            data["target"] = self.target
        if self.mode:
            data["mode"] = self.mode
        if self.keys:
            data["keys"] = list(self.keys)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableOverride:
        if not isinstance(data.get("source"), str) or not data["source"].strip():
            raise UsageError(f"a table override has no source table: {dict(data)!r}")
        return cls(source=data["source"], target=data.get("target") or None, mode=data.get("mode") or None,
                   keys=tuple(str(k) for k in data.get("keys") or ()))


@dataclass(frozen=True)
class TableSelection:
    """Which source tables a many-tables job copies, and how."""

    patterns: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    include_views: bool = False
    #: Where the copies go; ``None``: the target connection's default schema.
    target_schema: str | None = None
    overrides: tuple[TableOverride, ...] = ()
    #: Create primary keys, uniques, indexes and foreign keys after the loads.
    constraints: bool = True
    continue_on_error: bool = False

    def validate(self) -> None:
        if not [p for p in self.patterns if p.strip()]:
            raise UsageError("--tables needs at least one table name or pattern")
        for pattern in (*self.patterns, *self.exclude):
            split_pattern(pattern)
        for override in self.overrides:
            if override.target:
                TableName.parse(override.target)
            if override.mode:
                try:
                    LoadMode(override.mode)
                except ValueError:
                    raise UsageError(f"table {override.source}: unknown mode {override.mode!r}") from None

    def override(self, table: TableName) -> TableOverride | None:
        for item in self.overrides:
            wanted = TableName.parse(item.source)
            if _same(wanted, table):
                return item
        return None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"patterns": list(self.patterns)}
        if self.exclude:
            data["exclude"] = list(self.exclude)
        if self.include_views:
            data["include_views"] = True
        if self.target_schema:
            data["target_schema"] = self.target_schema
        if self.overrides:
            data["overrides"] = [o.to_json() for o in self.overrides]
        if not self.constraints:
            data["constraints"] = False
        if self.continue_on_error:
            data["continue_on_error"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableSelection:
        patterns = data.get("patterns")
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise UsageError("a job's tables need a list of patterns")
        return cls(
            patterns=tuple(patterns), exclude=tuple(str(p) for p in data.get("exclude") or ()),
            include_views=bool(data.get("include_views", False)),
            target_schema=data.get("target_schema") or None,
            overrides=tuple(TableOverride.from_json(o) for o in data.get("overrides") or ()),
            constraints=bool(data.get("constraints", True)),
            continue_on_error=bool(data.get("continue_on_error", False)),
        )

    @classmethod
    def parse(cls, tables: str, exclude: Sequence[str] = (), **options: Any) -> TableSelection:
        """From the command line's ``--tables a,b,schema.*`` and ``--exclude`` values."""
        excluded = tuple(p.strip() for item in exclude for p in item.split(",") if p.strip())
        selection = cls(patterns=tuple(p.strip() for p in tables.split(",") if p.strip()),
                        exclude=excluded, **options)
        selection.validate()
        return selection


def split_pattern(pattern: str) -> tuple[str | None, str]:
    """``schema.table`` patterns as (schema or None, table pattern); ``*`` is a wildcard in either."""
    text = pattern.strip()
    if text in ("*", ""):
        if not text:
            raise UsageError("an empty table pattern")
        return None, "*"
    name = TableName.parse(text)
    return name.schema, name.name


def _same(a: TableName, b: TableName) -> bool:
    return a.name.lower() == b.name.lower() and (a.schema is None or b.schema is None
                                                 or a.schema.lower() == b.schema.lower())


def _matches(pattern: str, table: TableName) -> bool:
    schema, name = split_pattern(pattern)
    if schema is not None and (table.schema is None
                               or not fnmatch.fnmatchcase(table.schema.lower(), schema.lower())):
        return False
    return fnmatch.fnmatchcase(table.name.lower(), name.lower())


def select_relations(dialect: Dialect, connection: Any, selection: TableSelection) -> list[Relation]:
    """The source's tables (and views when asked) that the selection names, each once, sorted;
    ``UsageError`` naming a pattern that matches nothing."""
    listed: dict[str | None, list[Relation]] = {}
    chosen: dict[TableName, Relation] = {}
    for pattern in selection.patterns:
        schema, _ = split_pattern(pattern)
        if schema is not None and any(ch in schema for ch in "*?["):
            raise UsageError(f"{pattern!r}: a wildcard in the schema part is not supported; name the schema")
        if schema not in listed:
            listed[schema] = dialect.list_relations(connection, schema)
        found = [r for r in listed[schema] if _matches(pattern, r.name)
                 and (selection.include_views or r.kind is RelationKind.TABLE)]
        if not found:
            views = [r for r in listed[schema] if _matches(pattern, r.name)]
            hint = " (only views: add --include-views)" if views else ""
            raise UsageError(f"no table matches {pattern!r} on the source{hint}")
        for relation in found:
            if not any(_matches(x, relation.name) for x in selection.exclude):
                chosen.setdefault(relation.name, relation)
    if not chosen:
        raise UsageError("every selected table is excluded")
    return sorted(chosen.values(), key=lambda r: (r.name.schema or "", r.name.name))


def foreign_key_order(shapes: Sequence[TableShape]) -> tuple[list[TableShape], list[list[TableName]]]:
    """``shapes`` parents first (a table after every table its foreign keys refer to), and the
    cycles found, each as its tables; tables in a cycle follow in name order (their foreign keys
    are created after every load, so any order loads them)."""
    by_key = {_key(s.table): s for s in shapes}
    parents: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for shape in shapes:
        mine = _key(shape.table)
        parents[mine] = set()
        for fk in shape.foreign_keys:
            ref = _resolve(fk.referenced, shape.table, by_key)
            if ref is not None and ref != mine:
                parents[mine].add(ref)
    ordered: list[TableShape] = []
    placed: set[tuple[str, str]] = set()
    remaining = sorted(parents)
    while remaining:
        ready = [k for k in remaining if parents[k] <= placed]
        if not ready:
            break
        for key in ready:
            ordered.append(by_key[key])
            placed.add(key)
        remaining = [k for k in remaining if k not in placed]
    cycles = [[by_key[k].table for k in remaining]] if remaining else []
    ordered.extend(by_key[k] for k in remaining)
    return ordered, cycles


def _key(table: TableName) -> tuple[str, str]:
    return ((table.schema or "").lower(), table.name.lower())


def _resolve(ref: TableName, child: TableName, by_key: Mapping[tuple[str, str], TableShape]
             ) -> tuple[str, str] | None:
    key = ((ref.schema or child.schema or "").lower(), ref.name.lower())
    if key in by_key:
        return key
    loose = [k for k in by_key if k[1] == ref.name.lower()]
    return loose[0] if len(loose) == 1 else None


@dataclass(frozen=True)
class TableStep:
    """One table of a plan: what is read, where it goes, how it loads."""

    source: TableName
    target: TableName
    mode: LoadMode
    keys: tuple[str, ...]
    shape: TableShape
    query: str


@dataclass(frozen=True)
class TablesPlan:
    steps: tuple[TableStep, ...]
    cycles: tuple[tuple[TableName, ...], ...] = ()


def plan_tables(dialect: Dialect, connection: Any, selection: TableSelection, mode: LoadMode,
                keys: tuple[str, ...] = ()) -> TablesPlan:
    """The steps of a selection on the source behind ``connection``, parents first."""
    relations = select_relations(dialect, connection, selection)
    shapes = [dialect.describe_table(connection, r.name) for r in relations]
    ordered, cycles = foreign_key_order(shapes)
    steps = []
    for shape in ordered:
        override = selection.override(shape.table)
        target = (TableName.parse(override.target) if override and override.target
                  else TableName(shape.table.name, selection.target_schema))
        step_mode = LoadMode(override.mode) if override and override.mode else mode
        step_keys = override.keys if override and override.keys else keys
        if step_mode is LoadMode.UPSERT and not step_keys and shape.primary_key is not None:
            step_keys = shape.primary_key.columns
        if step_mode is LoadMode.UPSERT and not step_keys:
            raise UsageError(f"table {shape.table}: upsert needs key columns and the table has no "
                             "primary key")
        query = f"SELECT * FROM {dialect.qualified(shape.table)}"
        steps.append(TableStep(shape.table, target, step_mode,
                               step_keys if step_mode is LoadMode.UPSERT else (), shape, query))
    return TablesPlan(tuple(steps), tuple(tuple(c) for c in cycles))


class StepStatus:
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass
class StepResult:
    """How one step went: a table's load, or the closing ``constraints`` step."""

    name: str
    target: str
    status: str = StepStatus.SKIPPED
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    run_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "target": self.target, "status": self.status, "rows": self.rows,
                "seconds": round(self.seconds, 3), "error": self.error, "run_id": self.run_id,
                "warnings": list(self.warnings)}


@dataclass
class TablesResult:
    steps: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0
    #: Warnings about the run as a whole (what it could not do).
    notes: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return bool(self.steps) and all(s.status == StepStatus.SUCCEEDED for s in self.steps)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.steps)


#: Runs one table's request: (the step's request) -> MigrationResult-like with status, rows_written, error.
StepRunner = Callable[[Any], Any]
#: Creates the keys, indexes and foreign keys of the loaded tables on the target: the warnings.
ConstraintsRunner = Callable[[Sequence[TableStep]], list[str]]


def run_steps(plan: TablesPlan, requests: Sequence[Any], run_step: StepRunner, *,
              continue_on_error: bool = False, constraints: ConstraintsRunner | None = None,
              on_step: Callable[[StepResult, int, int], None] | None = None,
              cancel: threading.Event | None = None) -> TablesResult:
    """Run each step's request in order, then ``constraints`` over the loaded tables.

    A failed step stops the rest (left ``skipped``) unless ``continue_on_error``; constraints are
    created only for tables whose load succeeded, and not at all once a step stopped the run.
    """
    started = time.monotonic()
    result = TablesResult([StepResult(str(s.source), str(s.target)) for s in plan.steps])
    total = len(plan.steps) + (1 if constraints is not None else 0)
    loaded: list[TableStep] = []
    stopped = False
    work = zip(plan.steps, requests, result.steps, strict=True)
    for number, (step, request, outcome) in enumerate(work, 1):
        if cancel is not None and cancel.is_set():
            stopped = True
        if stopped:
            continue
        began = time.monotonic()
        run = run_step(request)
        outcome.status = run.status.value
        outcome.rows = run.rows_written
        outcome.error = run.error
        outcome.run_id = run.run_id
        outcome.seconds = time.monotonic() - began
        if outcome.status == StepStatus.SUCCEEDED:
            loaded.append(step)
        elif outcome.status == StepStatus.CANCELLED or not continue_on_error:
            stopped = True
        if on_step is not None:
            on_step(outcome, number, total)
    if constraints is not None:
        closing = StepResult(CONSTRAINTS_STEP, f"{len(loaded)} table(s)")
        result.steps.append(closing)
        if not stopped and loaded:
            _run_constraints(closing, constraints, loaded)
            if on_step is not None:
                on_step(closing, total, total)
    result.seconds = time.monotonic() - started
    return result


def _run_constraints(closing: StepResult, constraints: ConstraintsRunner,
                     loaded: Sequence[TableStep]) -> None:
    began = time.monotonic()
    try:
        closing.warnings = constraints(loaded)
        closing.status = StepStatus.SUCCEEDED
    except Exception as exc:  # noqa: BLE001 - a statement the target refuses fails this step only,
        # the rows already loaded stay (each table's load was committed on its own).
        closing.status, closing.error = StepStatus.FAILED, one_line(str(exc))
    closing.seconds = time.monotonic() - began


def step_request_job(job: Any, step: TableStep) -> Any:
    """The single-table job one step runs: the many-tables job with the step's query, table and mode."""
    return replace(job, query=step.query, table=_table_text(step.target), mode=step.mode.value,
                   keys=step.keys, tables=None)


def _table_text(table: TableName) -> str:
    def quote(part: str) -> str:
        return '"' + part.replace('"', '""') + '"'
    return f"{quote(table.schema)}.{quote(table.name)}" if table.schema else quote(table.name)
