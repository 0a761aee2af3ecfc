"""Who holds a lease, and whether that holder is dead.

A holder is one gateway process (an instance id, made once per process): ``node.boot.pid.
start.rand``, where ``node`` is a hash of the host name, ``boot`` the kernel's boot id (Linux;
``0`` elsewhere), ``start`` the process's start time in clock ticks since boot (Linux
``/proc/<pid>/stat``; ``0`` elsewhere) and ``rand`` a random tag. A lease id is
``<holder>~<serial>``, so the stored format is unchanged (``leases`` still maps an id to its
expiry, and every backend writes it as before); an id without ``~`` is an older lease that
names no holder: it only expires.

A holder is *dead* (:func:`is_dead`) only when this machine can prove it: same node, and either
the machine has rebooted since (another boot id), or its pid runs no process, or the pid runs a
process that started at another time (the pid was reused). Everything else (another machine, a
holder that cannot be parsed, a live pid whose start time cannot be read) counts as alive and
is left to expire: a live process's leases are never reclaimed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from functools import cache
from pathlib import Path

SEPARATOR = "~"
UNKNOWN = "0"


@cache
def _node() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


@cache
def _boot() -> str:
    try:
        raw = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return UNKNOWN
    return raw.replace("-", "")[:12] or UNKNOWN


def _start(pid: int) -> str:
    """The process's start time in clock ticks since boot, or ``0`` if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return UNKNOWN
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else UNKNOWN  # field 22 of stat(5)


def make_holder(
    *, pid: int | None = None, start: int | str | None = None, node: str | None = None
) -> str:
    """A new holder id for ``pid`` (default: this process), read from this machine."""
    pid = os.getpid() if pid is None else pid
    started = _start(pid) if start is None else str(start)
    return ".".join((node or _node(), _boot(), str(pid), started, secrets.token_hex(4)))


_holders: dict[int, str] = {}  # pid → this process's holder (a forked child makes its own)


def process_holder() -> str:
    """This process's holder id, made on first use."""
    pid = os.getpid()
    holder = _holders.get(pid)
    if holder is None:
        holder = _holders[pid] = make_holder()
    return holder


def lease_id_for(holder: str, serial: str) -> str:
    return f"{holder}{SEPARATOR}{serial}"


def lease_holder(lease_id: str) -> str | None:
    """The holder a lease id names (None: an older lease, or no holder)."""
    holder, sep, _ = lease_id.rpartition(SEPARATOR)
    return holder if sep and holder else None


def is_dead(holder: str) -> bool:
    """Whether ``holder`` is provably dead on this machine (see the module's docstring)."""
    parts = holder.split(".")
    if len(parts) != 5 or not parts[2].isdigit():
        return False
    node, boot, pid_text, start, _ = parts
    if node != _node():
        return False  # another machine: its process cannot be seen from here
    if UNKNOWN not in (boot, _boot()) and boot != _boot():
        return True  # this machine rebooted since: every process of then is gone
    pid = int(pid_text)
    if pid <= 0 or os.name == "nt":  # on Windows os.kill(pid, 0) would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # running, as another user
    except OSError:
        return False
    now_start = _start(pid)
    return UNKNOWN not in (start, now_start) and start != now_start
