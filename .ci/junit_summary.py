"""Reads pytest's JUnit XML from a run without database servers (make fresh-check).

Passes when nothing failed or errored, every skipped test gives its reason, and the integration
tests that need a server were skipped saying it is not reachable. Prints the skips by reason.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter


def main(path: str) -> int:
    cases = list(ET.parse(path).getroot().iter("testcase"))
    outcome: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    problems: list[str] = []
    unreachable = 0
    for case in cases:
        name = f"{case.get('classname')}::{case.get('name')}"
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if failed is not None:
            outcome["failed"] += 1
            problems.append(f"{name}: {(failed.get('message') or '').splitlines()[0:1]}")
        elif skipped is not None:
            outcome["skipped"] += 1
            reason = (skipped.get("message") or "").strip()
            if not reason:
                problems.append(f"{name}: skipped without a reason")
            reasons[reason[:150]] += 1
            if "tests.integration" in name and "not reachable" in reason:
                unreachable += 1
        else:
            outcome["passed"] += 1
    print(f"{len(cases)} tests: {outcome['passed']} passed, {outcome['skipped']} skipped, "
          f"{outcome['failed']} failed or errored")
    for reason, count in reasons.most_common():
        print(f"  skipped {count:4d}: {reason}")
    if unreachable == 0:
        problems.append("no integration test was skipped for want of a server")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
