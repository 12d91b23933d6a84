"""Moving code leaves every committed job's keys as they were (tests/job_keys.py pinned them in
tests/data/job_keys.json), so no finished job of a committed results folder trains again."""

import json

import pytest
from job_keys import PINNED, ROOT, keys_of

PINS = json.loads(PINNED.read_text())


def _sample(keys: list[dict]) -> list[dict]:
    """The first job of each encoder and each experiment: every kind of key, in seconds."""
    firsts: dict[tuple, dict] = {}
    for key in keys:
        experiment, encoder = key["job"].split("|")[:2]
        firsts.setdefault((experiment, encoder), key)
    return list(firsts.values())


@pytest.mark.parametrize("folder", sorted(PINS))
def test_the_keys_of_committed_jobs_are_those_pinned(folder):
    wanted = _sample(PINS[folder])
    computed = {k["job"]: k for k in keys_of(ROOT / folder, {k["job"] for k in wanted})}
    assert len(wanted) >= 5
    for key in wanted:
        assert computed[key["job"]] == key, key["job"]
