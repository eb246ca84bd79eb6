"""The vocabulary of DRBD 8.4 states, spelled as DRBD prints them (`/proc/drbd`, `drbdadm role|cstate|dstate`).

Contract: `Role`, `CState` and `DState` are IntEnums whose `.name` is DRBD's spelling; `DState` is ordered as
DRBD orders disk states (Diskless < Inconsistent < Outdated < DUnknown < Consistent < UpToDate), so comparisons
such as `disk > DState.Inconsistent` read like DRBD's own code. `SS` holds the refusals of a state change
(`enum drbd_state_rv` of linux/drbd.h) and `STATE_ERRORS` their words (drbd_strings.c); `drbdsetup_exit(code)` is
the exit code drbdsetup's `print_config_error` gives a refusal (state-change refusals 11, except -2 -> 17,
-16 -> 5, -4 -> 16; `drbd_ret_code` failures above ERR_CODE_BASE -> 10).
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


class SS(IntEnum):
    """Why DRBD refuses a state change (the negative `enum drbd_state_rv` values of linux/drbd.h)."""

    TWO_PRIMARIES = -1
    NO_UP_TO_DATE_DISK = -2
    NO_LOCAL_DISK = -4
    CONNECTED_OUTDATES = -6
    IS_DISKLESS = -11
    DEVICE_IN_USE = -12
    LOWER_THAN_OUTDATED = -16
    IN_TRANSIENT_STATE = -18


STATE_ERRORS = {
    SS.TWO_PRIMARIES: "Multiple primaries not allowed by config",
    SS.NO_UP_TO_DATE_DISK: "Need access to UpToDate data",
    SS.NO_LOCAL_DISK: "Can not resync without local disk",
    SS.CONNECTED_OUTDATES: "Refusing to be Outdated while Connected",
    SS.IS_DISKLESS: "Device is diskless, the requested operation requires a disk",
    SS.DEVICE_IN_USE: "Device is held open by someone",
    SS.LOWER_THAN_OUTDATED: "Disk state is lower than outdated",
    SS.IN_TRANSIENT_STATE: "In transient state, retry after next state change",
}

ERR_CODE_BASE = 100  # drbd_ret_code values above this are "Failure: (N) ..." (exit 10)
ERR_DISCARD_IMPOSSIBLE = 123
ERR_MINOR_INVALID = 127


def drbdsetup_exit(code: int) -> int:
    """The exit code drbdsetup 8.4 gives a refusal with this code (print_config_error in drbdsetup.c)."""
    if code > ERR_CODE_BASE:
        return 10
    return {SS.NO_UP_TO_DATE_DISK: 17, SS.LOWER_THAN_OUTDATED: 5, SS.NO_LOCAL_DISK: 16}.get(code, 11)
