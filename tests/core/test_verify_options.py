"""The verify level as a job option and a setting."""

from __future__ import annotations

import pytest

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.settings import Settings


def test_a_job_keeps_its_verify_level_and_otherwise_follows_the_setting() -> None:
    job = Job(name="j", source="a", target="b", query="SELECT 1", table="t", verify="checksum")
    again = Job.from_json(job.to_json())
    assert again.verify == "checksum"
    assert again.verify_level(Settings()) is VerifyLevel.CHECKSUM
    plain = Job.from_json(Job(name="j", source="a", target="b", query="SELECT 1", table="t").to_json())
    assert "verify" not in plain.to_json()
    assert plain.verify_level(Settings()) is VerifyLevel.COUNTS
    assert plain.verify_level(Settings(verify="checksum")) is VerifyLevel.CHECKSUM


def test_a_stored_job_with_an_unknown_level_is_refused_by_name() -> None:
    data = Job(name="j", source="a", target="b", query="SELECT 1", table="t").to_json() | {"verify": "md5"}
    with pytest.raises(UsageError, match="verify"):
        Job.from_json(data)
