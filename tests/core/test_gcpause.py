"""The garbage collector is paused while rows stream and comes back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from qdbm_desktop.core.gcpause import collector_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_overlapping_pauses_resume_the_collector_after_the_last() -> None:
    gc.enable()
    outer = collector_paused()
    outer.__enter__()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first run still streams
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off_and_an_error_still_resumes() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("load failed")
    assert gc.isenabled()
