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
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
        assert line.startswith(b"fems-rest")
        assert b"http://127.0.0.1:" in line
        assert b"owner=owner" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, stderr
