"""Home directories of Windows accounts, from SOFTWARE\\...\\ProfileList.

Each profile key is named by the account's SID and holds ProfileImagePath
(``C:\\Users\\alice`` or ``%SystemDrive%\\Users\\alice``), turned here into the guest path
(``/Users/alice``). Local accounts are matched by RID; a RID that two SIDs end with (a
domain account beside a local one) is left unmatched rather than guessed.
"""

from __future__ import annotations

import re
from collections import Counter

from vmguard.guest.registry import Hive

PROFILE_LIST = "Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
_LOCAL_SID = re.compile(r"^S-1-5-21-\d+-\d+-\d+-(\d+)$")
_DRIVE = re.compile(r"^(?:[A-Za-z]:|%SystemDrive%)", re.IGNORECASE)


def profile_homes(software: Hive) -> dict[int, str]:
    """RID -> guest path of the profile directory, for S-1-5-21 account SIDs."""
    profiles = software.key(PROFILE_LIST)
    if profiles is None:
        return {}
    found: list[tuple[int, str]] = []
    for key in profiles.subkeys():
        match = _LOCAL_SID.match(key.name)
        path = key.text("ProfileImagePath")
        if match is None or not _DRIVE.match(path):
            continue
        home = "/" + "/".join(p for p in _DRIVE.sub("", path).split("\\") if p)
        found.append((int(match.group(1)), home))
    counts = Counter(rid for rid, _ in found)
    return {rid: home for rid, home in found if counts[rid] == 1}
