"""Describe the machine a run happened on, so a figure is never quoted without it."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo ('unknown' elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    """Return the total RAM from /proc/meminfo, in GiB."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def describe(database: str, server_version: str | None) -> str:
    """Return one line naming the machine, interpreter, database, time, and how busy the CPUs already were."""
    engine = f"PostgreSQL {server_version}" if database == "postgres" else f"SQLite {sqlite3.sqlite_version}"
    return (
        f"machine: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), {memory_gib()} RAM, "
        f"Python {platform.python_version()}, {engine}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load average {os.getloadavg()[0]:.2f} before the run"
    )
