"""Statements a table copy gives its target: every engine's forms, names cut and kept apart,
defaults translated, what a target cannot have left out with a warning. SQL Server and Oracle
statements are read back by sqlglot."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from qdbm_desktop.core.dialects import DIALECTS
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import (
    ColumnInfo,
    ForeignKey,
    IndexInfo,
    IndexPart,
    KeyConstraint,
    TableShape,
)
from qdbm_desktop.core.dialects.ddl import DefaultKind, NameKind, PortableDefault, shorten
from qdbm_desktop.core.table_ddl import TableDdl, TargetNames, plan_table_ddl, portable_default, rules_for

SOURCE = TableName("orders", "public")
TARGET = TableName("orders copy", "s")
SHAPE = TableShape(
    SOURCE,
    (
        ColumnInfo("id", "integer", False),
        ColumnInfo("line", "integer", False, "1"),
        ColumnInfo("parent", "integer"),
        ColumnInfo("note", "text", True, "'it''s'::text"),
        ColumnInfo("at", "timestamp", False, "now()"),
        ColumnInfo("serial", "integer", True, "nextval('orders_serial_seq'::regclass)"),
    ),
    primary_key=KeyConstraint("orders_pkey", ("id", "line")),
    uniques=(KeyConstraint("orders_note_key", ("note",)),),
    indexes=(
        IndexInfo("orders_at_idx", (IndexPart("at", descending=True), IndexPart("id"))),
        IndexInfo("orders_live_idx", (IndexPart("parent"),), where="(parent IS NOT NULL)"),
        IndexInfo("orders_lower_idx", (IndexPart(None, "lower(note)"),)),
    ),
    foreign_keys=(
        ForeignKey("orders_parent_fkey", ("parent", "line"), SOURCE, ("id", "line"), "CASCADE", "RESTRICT"),
    ),
)
TYPES = {"id": "integer", "line": "integer", "parent": "integer", "note": "varchar(200)",
         "at": "timestamp", "serial": "integer"}
MAPPING = {SOURCE: TARGET}


def plan(target: str, column_types: dict[str, str] | None = None) -> TableDdl:
    return plan_table_ddl(SHAPE, DIALECTS[target], TARGET, source="postgresql",
                          column_types=column_types or TYPES, table_names=MAPPING)


def test_defaults_of_every_engine_become_portable_values() -> None:
    assert portable_default("'it''s'::text", "postgresql") == PortableDefault(DefaultKind.STRING, "it's")
    assert portable_default("'-1'::integer", "postgresql") == PortableDefault(DefaultKind.NUMBER, "-1")
    assert portable_default("true", "postgresql") == PortableDefault(DefaultKind.BOOLEAN, "1")
    assert portable_default("CURRENT_TIMESTAMP", "sqlite") == PortableDefault(DefaultKind.NOW)
    assert portable_default("current_timestamp()", "mysql") == PortableDefault(DefaultKind.NOW)
    assert portable_default("'a\\\\b'", "mysql") == PortableDefault(DefaultKind.STRING, "a\\b")
    assert portable_default("((0))", "sqlserver") == PortableDefault(DefaultKind.NUMBER, "0")
    assert portable_default("(getdate())", "sqlserver") == PortableDefault(DefaultKind.NOW)
    assert portable_default("NULL", "mysql") is None and portable_default(None, "sqlite") is None
    for other in ("nextval('s'::regclass)", "(now() + '1 day'::interval)", "'x'::text || 'y'"):
        try:
            portable_default(other, "postgresql")
        except ValueError:
            continue
        raise AssertionError(other)


def test_postgresql_gets_everything_in_order_and_the_sequence_default_is_named_in_a_warning() -> None:
    ddl = plan("postgresql")

    assert ddl.after_load == (
        'ALTER TABLE "s"."orders copy" ALTER COLUMN "id" SET NOT NULL',
        'ALTER TABLE "s"."orders copy" ALTER COLUMN "line" SET NOT NULL',
        'ALTER TABLE "s"."orders copy" ALTER COLUMN "line" SET DEFAULT 1',
        'ALTER TABLE "s"."orders copy" ALTER COLUMN "note" SET DEFAULT \'it\'\'s\'',
        'ALTER TABLE "s"."orders copy" ALTER COLUMN "at" SET NOT NULL',
        'ALTER TABLE "s"."orders copy" ALTER COLUMN "at" SET DEFAULT CURRENT_TIMESTAMP',
        'ALTER TABLE "s"."orders copy" ADD CONSTRAINT "orders_pkey" PRIMARY KEY ("id", "line")',
        'ALTER TABLE "s"."orders copy" ADD CONSTRAINT "orders_note_key" UNIQUE ("note")',
        'CREATE INDEX "orders_at_idx" ON "s"."orders copy" ("at" DESC, "id")',
        'CREATE INDEX "orders_live_idx" ON "s"."orders copy" ("parent") WHERE (parent IS NOT NULL)',
        'CREATE INDEX "orders_lower_idx" ON "s"."orders copy" ((lower(note)))',
    )
    assert ddl.after_all == (
        'ALTER TABLE "s"."orders copy" ADD CONSTRAINT "orders_parent_fkey" FOREIGN KEY ("parent", "line") '
        'REFERENCES "s"."orders copy" ("id", "line") ON DELETE CASCADE ON UPDATE RESTRICT',
    )
    assert ddl.warnings == ("s.orders copy: the default of serial (nextval('orders_serial_seq'::regclass)) "
                            "left out: only literals and the current timestamp are carried",)


def test_mysql_gets_one_alter_and_no_partial_or_expression_index_from_another_engine() -> None:
    ddl = plan("mysql", column_types={**TYPES, "at": "datetime(6)", "note": "varchar(200)"})

    assert ddl.after_load[0].startswith("ALTER TABLE `s`.`orders copy` MODIFY COLUMN `id` integer NOT NULL, ")
    assert "MODIFY COLUMN `at` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)" in ddl.after_load[0]
    assert "ADD PRIMARY KEY (`id`, `line`)" in ddl.after_load[0]
    assert ddl.after_load[1:] == ("CREATE INDEX `orders_at_idx` ON `s`.`orders copy` (`at` DESC, `id`)",)
    assert any("orders_live_idx left out: it is partial" in w for w in ddl.warnings)
    assert any("orders_lower_idx left out: it indexes an expression" in w for w in ddl.warnings)


def test_mysql_text_columns_are_no_keys_and_their_defaults_are_expressions() -> None:
    ddl = plan("mysql", column_types={**TYPES, "note": "longtext"})

    assert "ALTER COLUMN `note` SET DEFAULT ('it''s')" in ddl.after_load[0]
    assert "UNIQUE" not in ddl.after_load[0]
    assert any("unique constraint orders_note_key left out: note is of type longtext" in w for w in ddl.warnings)


def test_sqlite_rebuilds_the_table_with_keys_defaults_and_foreign_keys_inside() -> None:
    ddl = plan("sqlite", column_types={k: v for k, v in TYPES.items()})

    create, insert, drop, rename, *indexes = ddl.after_load
    assert create.startswith('CREATE TABLE "s"."orders copy__qdbm_rebuild" ("id" integer NOT NULL, ')
    assert '"line" integer NOT NULL DEFAULT 1' in create
    assert 'CONSTRAINT "orders_pkey" PRIMARY KEY ("id", "line")' in create
    assert ('CONSTRAINT "orders_parent_fkey" FOREIGN KEY ("parent", "line") REFERENCES "orders copy" '
            '("id", "line") ON DELETE CASCADE ON UPDATE RESTRICT') in create
    assert insert.startswith('INSERT INTO "s"."orders copy__qdbm_rebuild" ("id", ')
    assert drop == 'DROP TABLE "s"."orders copy"'
    assert rename == 'ALTER TABLE "s"."orders copy__qdbm_rebuild" RENAME TO "orders copy"'
    assert indexes == ['CREATE INDEX "s"."orders_at_idx" ON "orders copy" ("at" DESC, "id")']
    assert ddl.after_all == ()


def test_sqlite_without_the_target_types_keeps_its_indexes_and_says_what_is_left_out() -> None:
    ddl = plan_table_ddl(SHAPE, DIALECTS["sqlite"], TARGET, source="sqlite")

    assert ddl.after_load[0].startswith('CREATE INDEX "s"."orders_at_idx"')
    assert any("the target types of id, line" in w for w in ddl.warnings)


def _tsql(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="tsql")
    assert isinstance(tree, exp.Expression)
    return tree


def test_sql_server_statements_parse_and_restrict_becomes_no_action() -> None:
    ddl = plan("sqlserver", column_types={**TYPES, "at": "datetime2"})

    for statement in ddl.after_load + ddl.after_all:
        _tsql(statement)
    assert "ALTER TABLE [s].[orders copy] ALTER COLUMN [at] datetime2 NOT NULL" in ddl.after_load
    assert "ALTER TABLE [s].[orders copy] ADD DEFAULT CURRENT_TIMESTAMP FOR [at]" in ddl.after_load
    assert ddl.after_all[0].endswith("ON DELETE CASCADE")
    assert any("ON UPDATE RESTRICT becomes NO ACTION" in w for w in ddl.warnings)


def test_oracle_statements_parse_with_no_on_update_and_folded_names() -> None:
    ddl = plan("oracle", column_types={**TYPES, "note": "VARCHAR2(200)"})

    for statement in ddl.after_load + ddl.after_all:
        tree = sqlglot.parse_one(statement, read="oracle")
        assert isinstance(tree, exp.Expression)
    assert 'ALTER TABLE "S"."orders copy" MODIFY ("ID" NOT NULL)' in ddl.after_load
    assert 'CREATE INDEX "S"."ORDERS_AT_IDX" ON "S"."orders copy" ("AT" DESC, "ID")' in ddl.after_load
    assert "ON UPDATE" not in ddl.after_all[0] and ddl.after_all[0].endswith("ON DELETE CASCADE")


def test_long_names_are_cut_deterministically_and_collisions_get_a_suffix() -> None:
    long = "x" * 70
    assert shorten(long, 63, True) == shorten(long, 63, True)
    assert len(shorten(long, 63, True)) == 63 and shorten(long, 63, True) != shorten(long + "y", 63, True)
    assert len(shorten("é" * 40, 63, True).encode()) <= 63
    names = TargetNames(rules_for(DIALECTS["postgresql"]))
    a, b = TableName("a", "s"), TableName("b", "s")
    # PostgreSQL: index names are per schema, so the second table's index gets a suffix ...
    assert names.claim(NameKind.INDEX, a, "idx") == "idx"
    assert names.claim(NameKind.INDEX, b, "idx") == "idx_2"
    # ... and foreign-key names are per table.
    assert names.claim(NameKind.FOREIGN_KEY, a, "fk") == names.claim(NameKind.FOREIGN_KEY, b, "fk") == "fk"
    cut = names.claim(NameKind.INDEX, a, long)
    assert len(cut) == 63 and names.claim(NameKind.INDEX, b, long).endswith("_2")
    mysql = TargetNames(rules_for(DIALECTS["mysql"]))
    assert mysql.claim(NameKind.INDEX, a, "idx") == mysql.claim(NameKind.INDEX, b, "idx") == "idx"
    oracle_30 = TargetNames(rules_for(DIALECTS["oracle"]), identifier_limit=30)
    assert len(oracle_30.claim(NameKind.KEY, a, long)) == 30


def test_a_mysql_primary_key_gets_a_name_of_its_table_and_unknown_references_are_left_out() -> None:
    shape = TableShape(TableName("t"), (ColumnInfo("id", "int", False), ColumnInfo("o", "int")),
                       primary_key=KeyConstraint("PRIMARY", ("id",)),
                       foreign_keys=(ForeignKey("t_ibfk_1", ("o",), TableName("other", "db"), ("id",)),))
    ddl = plan_table_ddl(shape, DIALECTS["postgresql"], TableName("t"), source="mysql",
                         table_names={TableName("t", "db"): TableName("t")})

    assert 'ADD CONSTRAINT "t_pkey" PRIMARY KEY ("id")' in ddl.after_load[-1]
    assert ddl.after_all == ()
    assert ddl.warnings == ("t: foreign key t_ibfk_1 left out: it references db.other, which is not copied",)
