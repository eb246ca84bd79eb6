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


def test_step_failed_with_judges_the_exit_status_and_the_message(fake_lab) -> None:  # type: ignore[no-untyped-def]
    from lab.checks import StepFailedWith
    from lab.procedure import Step
    from lab.scenario import ScenarioRun

    t = fake_lab.transports["new"]
    t.replies["drbdadm primary"] = (17, "0: State change failed: (-1) Multiple primaries not allowed by config\n")
    t.replies["drbdadm role"] = (0, "Secondary/Primary\n")
    run = ScenarioRun("fake/x", fake_lab)
    run.step(Step("new", "drbdadm primary r0", "a second promotion", expect_rc=None))
    run.step(Step("new", "drbdadm role r0", "the role"))
    r = StepFailedWith("a second promotion", "Multiple primaries not allowed", rc=17).evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["rc"] == 17
    assert "exit 17: 0: State change failed: (-1) Multiple primaries" in r.detail
    other = StepFailedWith("a second promotion", "Need access to UpToDate data", rc=17).evaluate(run.view)
    assert other.verdict == Verdict.FAIL and "no 'Need access to UpToDate data' in its output" in other.detail
    wrong_rc = StepFailedWith("a second promotion", "Multiple primaries", rc=11).evaluate(run.view)
    assert wrong_rc.verdict == Verdict.FAIL and "(expected exit 11)" in wrong_rc.detail
    succeeded = StepFailedWith("the role", "Secondary").evaluate(run.view)
    assert succeeded.verdict == Verdict.FAIL and "expected exit non-zero" in succeeded.detail
    assert StepFailedWith("never", "x").evaluate(run.view).verdict == Verdict.FAIL


def test_step_failed_with_reads_why_opslab_stopped_a_step(fake_lab) -> None:  # type: ignore[no-untyped-def]
    from lab.checks import StepFailedWith
    from lab.scenario import ScenarioRun, StepRecord

    run = ScenarioRun("fake/x", fake_lab)
    run.steps.append(
        StepRecord("slave1", "mysqldump db t1 t2 > dump.sql", "[slave1] mysqldump db t1 t2", 124, False, 0, 30.0,
                   "", "", why="timed out after 30s")
    )
    assert StepFailedWith("mysqldump", "timed out").evaluate(run.view).verdict == Verdict.PASS
    assert StepFailedWith("mysqldump", "ERROR 1064").evaluate(run.view).verdict == Verdict.FAIL
