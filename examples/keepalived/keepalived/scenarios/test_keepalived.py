"""The keepalived lab's scenarios: the runbook's failover keeps the service answering from the backup; a crashed
master leaves the client without answers for the master-down interval; stopping the wrong node moves nothing."""

import pytest
from lab.scenario import ScenarioRun

from keepalived.plans import FAILOVER, WATCH


def test_failover(scenario: ScenarioRun) -> None:
    """Stopping keepalived on the master: lb2 takes the VIP over at once (priority-0 advert); no silence of 2 s."""
    FAILOVER.walk(scenario, "failover", watch=WATCH)


@pytest.mark.lab_params(advert_int="2")  # a master-down interval of 7.2 s: far past the limit even on a loaded machine
def test_crash_master(scenario: ScenarioRun) -> None:
    """The master vanishes (keepalived killed, link down): lb2 takes over only after the master-down interval
    (3 × advert_int + skew: 7.2 s at advert_int 2), so AnsweredThroughout says fail; lb2 serves in the end."""
    FAILOVER.walk(scenario, "crash_master", watch=WATCH, expect={"AnsweredThroughout": "fail"})


def test_stop_the_backup(scenario: ScenarioRun) -> None:
    """The operator stops the backup instead: lb1 keeps the VIP, so ServedBy(lb2) says fail."""
    FAILOVER.walk(scenario, "stop_the_backup", watch=WATCH, expect={"ServedBy": "fail"})
