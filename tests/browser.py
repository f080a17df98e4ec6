"""Debian's chromium for the tests that look at a page as a person would: the flags it runs with
here (no sandbox as root, no background networking: this machine reaches no internet) and a
driver over its DevTools pipe. Shared by the report's and Superset's tests."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path


def chromium_flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def chromium_binary() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: bin/setup installs it (Debian package chromium)"
    return chromium


class DevToolsChromium:
    """Debian's chromium driven over its DevTools pipe (fds 3 and 4, JSON messages ending in NUL).

    Needed for a real phone width: the headless window cannot be narrower than 500 px, while
    Emulation.setDeviceMetricsOverride gives the page a 390 px viewport, and Page.captureScreenshot
    takes the whole page, not only the window."""

    def __init__(self, profile: Path):
        command_read, self._commands = os.pipe()
        self._replies, reply_write = os.pipe()
        # --remote-debugging-pipe reads fd 3 and writes fd 4: bash moves the pipe ends there before
        # it execs chromium (no Python runs in the forked child, which is safe with threads around).
        # Copies numbered 10 and up first, so that neither end already is fd 3 or 4.
        command_read, reply_write = (self._renumbered(command_read), self._renumbered(reply_write))
        moves = f"3<&{command_read} 4>&{reply_write} {command_read}<&- {reply_write}>&-"
        self.process = subprocess.Popen(
            [
                "bash",
                "-c",
                f'exec "$0" "$@" {moves}',
                chromium_binary(),
                *chromium_flags(profile),
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(command_read, reply_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(command_read)
        os.close(reply_write)
        self._buffer, self._events, self._last_id = b"", [], 0
        target = self._send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self._send("Page.enable", session=True)

    @staticmethod
    def _renumbered(descriptor: int) -> int:
        copy = fcntl.fcntl(descriptor, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(descriptor)
        return copy

    def _receive(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "chromium did not answer within a minute"
            chunk = os.read(self._replies, 1 << 20)
            assert chunk, "chromium exited"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _send(self, method: str, session: bool = False, **params) -> dict:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._last_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self._events.append(reply)

    def open(self, url: str, width: int, height: int = 900) -> None:
        self._send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 700,
        )
        self._events.clear()
        self._send("Page.navigate", session=True, url=url)
        while not any(event.get("method") == "Page.loadEventFired" for event in self._events):
            self._events.append(self._receive())

    def evaluate(self, expression: str):
        return self._send("Runtime.evaluate", session=True, expression=expression, returnByValue=True)["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        width, height = self.evaluate("[window.innerWidth, document.documentElement.scrollHeight]")
        data = self._send(
            "Page.captureScreenshot",
            session=True,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        )["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._send("Browser.close")
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        os.close(self._commands)
        os.close(self._replies)
