"""The bad-input campaign (tests/campaign.py): every one of its 100+ command-line cases is a
correct load or a clear error that names the file, row or argument, with no traceback, nothing
silently dropped and nothing the user had changed. On the code before these checks (471cc5e)
the same campaign counted silent wrong results, tracebacks, unhelpful errors and a lost table
(its count table is in docs/guarantees.md)."""

from campaign import OUTCOMES, cases, outcome_table, run_campaign


def test_the_campaign_covers_every_class_of_bad_input():
    found = cases()
    assert len(found) >= 100
    kinds = {case.kind for case in found}
    assert kinds == {
        "final checkpoints",
        "reader",
        "damage",
        "arguments",
        "outputs",
        "scores",
        "messages",
    }
    assert len({case.name for case in found}) == len(found), "case names must be unique"


def test_every_bad_input_case_is_a_correct_load_or_a_clear_error(tmp_path):
    results = run_campaign(tmp_path, progress=False)
    table = outcome_table(results)
    assert table.splitlines()[0].endswith(" | ".join(OUTCOMES) + " |")
    failing = [
        f"{outcome} [{kind}] {name}: {detail}"
        for name, (kind, outcome, detail) in results.items()
        if outcome not in ("correct load", "clear error")
    ]
    assert not failing, table + "\n" + "\n".join(failing)
