from lab.checks import CheckResult, Verdict, worst


def test_worst_fail_beats_unknown_beats_pass() -> None:
    assert worst([Verdict.PASS, Verdict.UNKNOWN]) == Verdict.UNKNOWN
    assert worst([Verdict.UNKNOWN, Verdict.FAIL, Verdict.PASS]) == Verdict.FAIL
    assert worst([Verdict.PASS, Verdict.PASS]) == Verdict.PASS


def test_nothing_to_judge_is_unknown() -> None:
    assert worst([]) == Verdict.UNKNOWN


def test_judge_maps_a_boolean_to_a_verdict_and_keeps_evidence() -> None:
    r = CheckResult.judge("X", False, "why", seen=3)
    assert r.verdict == Verdict.FAIL and r.evidence == {"seen": 3}
    assert CheckResult.judge("X", True, "ok").verdict == Verdict.PASS
