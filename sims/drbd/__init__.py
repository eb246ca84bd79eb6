"""A userspace stand-in for a DRBD 8.4 resource (r0) replicated between two nodes: not DRBD, but faithful to it.

The pure decision functions are importable from here so they can be checked against DRBD's own decisions case by
case: `uuid_compare`, `after_split_brain`, `sync_handshake`, and the UUID movers. See README.md for what is
modelled and what is not.
"""

from sims.drbd.handshake import (
    AfterSbPolicies,
    HandshakeSide,
    HandshakeVerdict,
    SplitSide,
    after_split_brain,
    sync_handshake,
)
from sims.drbd.states import CState, DState, Role
from sims.drbd.uuids import (
    UUID_JUST_CREATED,
    UUID_NEW_BM_OFFSET,
    Uuids,
    adopt_sync_uuid,
    new_data_generation,
    resync_finished_source,
    resync_finished_target,
    resync_start_source,
    self_correction,
    uuid_compare,
)

__all__ = [
    "UUID_JUST_CREATED",
    "UUID_NEW_BM_OFFSET",
    "AfterSbPolicies",
    "CState",
    "DState",
    "HandshakeSide",
    "HandshakeVerdict",
    "Role",
    "SplitSide",
    "Uuids",
    "adopt_sync_uuid",
    "after_split_brain",
    "new_data_generation",
    "resync_finished_source",
    "resync_finished_target",
    "resync_start_source",
    "self_correction",
    "sync_handshake",
    "uuid_compare",
]
