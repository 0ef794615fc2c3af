"""The core package (and the command line) import without Qt, so they run on a server too."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib
    import importlib.util
    import json
    import pkgutil
    import sys

    BLOCKED = ("PySide6", "shiboken6")

    class BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"Qt import blocked: {name}")
            return None

    sys.meta_path.insert(0, BlockQt())

    try:
        import PySide6  # noqa: F401
    except ImportError:
        blocker_works = True
    else:
        blocker_works = False

    import qdbm_desktop.core

    names = ["qdbm_desktop.core"]
    failures = {}
    def remember(name):
        failures[name] = "error while walking the package"
    for info in pkgutil.walk_packages(qdbm_desktop.core.__path__, "qdbm_desktop.core.", onerror=remember):
        names.append(info.name)
    if importlib.util.find_spec("qdbm_desktop.cli") is not None:
        names.append("qdbm_desktop.cli")
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    print(json.dumps({
        "blocker_works": blocker_works,
        "imported": names,
        "failures": failures,
        "qt_loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
        "gui_loaded": sorted(m for m in sys.modules if m.startswith("qdbm_desktop.gui")),
    }))
    """
)


def test_every_core_module_imports_with_qt_blocked() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["blocker_works"] is True
    assert report["failures"] == {}
    imported = set(report["imported"])
    assert {"qdbm_desktop.core.jsonfile", "qdbm_desktop.core.secrets", "qdbm_desktop.core.connections",
            "qdbm_desktop.core.settings", "qdbm_desktop.core.demo", "qdbm_desktop.core.dialects.sqlite",
            "qdbm_desktop.core.context"} <= imported
    if importlib.util.find_spec("qdbm_desktop.cli") is not None:
        assert "qdbm_desktop.cli" in imported
    assert report["qt_loaded"] == []
    assert report["gui_loaded"] == []
