"""`python -m simulators` starts every simulator, prints them and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


async def test_cli_starts_prints_and_stops_cleanly() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "--fems-rest-read-port",
        "0",
        "--fems-rest-write-port",
        "0",
        "--fems-modbus-port",
        "0",
        "--sonnen-port",
        "0",
        "--flexconnect-port",
        "0",
        "--powerflex-port",
        "0",
        "--fems-cloud-port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
        assert line.startswith(b"fems_rest")
        assert b"http://127.0.0.1:" in line
        assert b"owner=owner" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, stderr


async def test_only_starts_the_chosen_simulator() -> None:
    """`--only sonnen` starts sonnen alone: nothing else listens, one line is printed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "--only",
        "sonnen",
        "--sonnen-port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(0)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
        assert line.startswith(b"sonnen (")
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, stderr
    assert stdout == b"", stdout  # no other simulator printed its line


async def test_help_names_every_connection_and_default() -> None:
    """Every flag says what it does and its default."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "--help",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
    text = " ".join(stdout.decode().split())  # help wraps lines at the terminal width
    assert "one of fems_rest, fems_modbus, flexconnect, sonnen, powerflex, fems_cloud" in text
    for default in (
        "(default: 8084)",
        "(default: 5502)",
        "(default: 8090)",
        "(default: 8088)",
        "default: 8095)",  # powerflex: "(... plain http ...; default: 8095)"
        "(default: 8094)",
    ):
        assert default in text
    # A flag without a default says "none" once, never an empty "(default: )".
    assert "(default: )" not in text
    assert "edge ids that start offline (default: none) --fems-cloud-offline-cycle" in text
