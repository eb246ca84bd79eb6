"""The vocabulary of DRBD 8.4 states, spelled as DRBD prints them (`/proc/drbd`, `drbdadm role|cstate|dstate`).

Contract: `Role`, `CState` and `DState` are IntEnums whose `.name` is DRBD's spelling; `DState` is ordered as
DRBD orders disk states (Diskless < Inconsistent < Outdated < DUnknown < Consistent < UpToDate), so comparisons
such as `disk > DState.Inconsistent` read like DRBD's own code.
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    Unknown = 0
    Primary = 1
    Secondary = 2


class CState(IntEnum):
    StandAlone = 0
    Disconnecting = 1
    Unconnected = 2
    NetworkFailure = 4
    BrokenPipe = 6
    WFConnection = 8
    WFReportParams = 9
    Connected = 10
    WFBitMapS = 12
    WFBitMapT = 13
    WFSyncUUID = 14
    SyncSource = 16
    SyncTarget = 17


class DState(IntEnum):
    Diskless = 0
    Inconsistent = 4
    Outdated = 5
    DUnknown = 6
    Consistent = 7
    UpToDate = 8


def role_name(role: Role) -> str:
    return role.name


SYNCING = (CState.SyncSource, CState.SyncTarget)
CONNECTED_OR_SYNCING = (
    CState.Connected,
    CState.WFBitMapS,
    CState.WFBitMapT,
    CState.WFSyncUUID,
    CState.SyncSource,
    CState.SyncTarget,
)
