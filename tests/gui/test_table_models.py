"""The table models on the shared frozen-rows base: each passes Qt's model tester and names its columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from qdbm_desktop.core.types import Column, PortableType
from qdbm_desktop.gui.column_mapping_model import Column as MappingColumn
from qdbm_desktop.gui.column_mapping_model import ColumnMappingModel
from qdbm_desktop.gui.preview_model import PreviewModel

_COLUMNS = [Column("id", PortableType.parse("int64"), nullable=False, source_type="bigint"),
            Column("price", PortableType.parse("decimal(10,2)"), source_type="numeric(10,2)")]


def test_preview_model_passes_the_model_tester_and_headers_name_the_source_type(qtmodeltester: Any) -> None:
    model = PreviewModel()
    model.set_preview(_COLUMNS, [(1, Decimal("2.50")), (2, None)])
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (2, 2)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "id\nbigint"
    assert model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) == \
        "price: numeric(10,2) (as decimal(10,2))"
    assert model.headerData(1, Qt.Orientation.Vertical) == "2"
    assert model.headerData(5, Qt.Orientation.Horizontal) is None
    assert model.data(model.index(1, 1)) == "NULL"
    assert model.data(model.index(0, 1)) == "2.50"
    # An index past the columns, or a child index, holds nothing.
    assert model.data(model.createIndex(0, 7)) is None
    assert model.rowCount(model.index(0, 0)) == 0
    model.clear()
    assert (model.rowCount(), model.columnCount()) == (0, 0)
    assert model.data(model.index(0, 0)) is None


def test_column_mapping_model_passes_the_model_tester_through_edits(qtmodeltester: Any) -> None:
    model = ColumnMappingModel()
    model.set_columns(_COLUMNS)
    qtmodeltester.check(model)
    assert model.columnCount() == len(MappingColumn)
    tip = model.headerData(MappingColumn.NOT_NULL, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert str(tip).startswith("Ticked: the column is created NOT NULL")
    not_null = model.index(0, MappingColumn.NOT_NULL)
    assert model.data(not_null, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(not_null, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert model.rows[0].nullable
    target = model.index(1, MappingColumn.TARGET)
    assert model.setData(target, "amount")
    assert model.data(target) == "amount"
    qtmodeltester.check(model)
    assert model.data(QModelIndex()) is None
