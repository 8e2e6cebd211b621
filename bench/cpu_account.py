"""CPU seconds spent by each part of a load run, read from /proc (Linux): the server's processes (the
given pid and its descendants), PostgreSQL's, the load generator's (wrk), everything else, and the
machine's idle time. The scale load (bench/scale_load.py) takes one reading before and one after its
mixed window: CPU per request by part says where two cores go, and unlike requests per second it
hardly moves when a shared machine is slower or busier from one run to the next.

A process that ends between the two readings is not counted (PostgreSQL's pooled backends and the
server's workers live through the window), except the children this process waited for in between
(wrk, started and reaped by the load), counted as "wrk".
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

PARTS = ("server", "postgres", "wrk", "other")
_TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds used so far)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone since the listing
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()  # fields from the state on: state is [0], ppid [1]
        out[int(entry.name)] = (name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def reading(server_pid: int) -> dict[str, object]:
    """CPU seconds per part now, per pid (so that only processes alive at both readings count)."""
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = set(), [server_pid]
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in tree:
            tree.add(pid)
            todo += children.get(pid, [])
    part = {}
    for pid, (name, _, _) in procs.items():
        part[pid] = ("server" if pid in tree else "postgres" if name.startswith("postgres")
                     else "wrk" if name == "wrk" else "other")
    idle = int(Path("/proc/stat").read_text().split("\n", 1)[0].split()[4]) / _TICK
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu": {pid: procs[pid][2] for pid in procs}, "part": part, "idle": idle,
            "reaped": reaped.ru_utime + reaped.ru_stime}


def spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per part between two readings, and the machine's idle seconds."""
    out = dict.fromkeys(PARTS, 0.0)
    for pid, cpu in after["cpu"].items():
        if pid in before["cpu"] and after["part"][pid] == before["part"][pid]:
            out[after["part"][pid]] += max(0.0, cpu - before["cpu"][pid])
    out["wrk"] += after["reaped"] - before["reaped"]
    out["idle"] = after["idle"] - before["idle"]
    return out
