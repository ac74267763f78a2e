"""Starts starmile-sandbox on a free loopback port and drives its control API."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[3]
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"


def sandbox_binary() -> str:
    return os.environ.get("STARMILE_SANDBOX_BIN") or str(REPO / "target" / "release" / "starmile-sandbox")


class Sandbox:
    def __init__(self, *extra_args: str) -> None:
        binary = sandbox_binary()
        if not Path(binary).is_file():
            raise RuntimeError(
                f"starmile-sandbox not found at {binary}: run `cargo build --release --features sandbox` "
                "or set STARMILE_SANDBOX_BIN"
            )
        self.process = subprocess.Popen(
            [binary, "--port", "0", *extra_args],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        first_line: list[str] = []
        reader = threading.Thread(target=lambda: first_line.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(15)
        if not first_line or not first_line[0].startswith("http"):
            self.stop()
            raise RuntimeError(f"starmile-sandbox did not print its URL (got {first_line!r})")
        self.url = first_line[0].strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def control(self, path: str, body: Optional[Any] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="GET" if path == "/_sandbox/stats" else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def stats(self) -> dict[str, Any]:
        return self.control("/_sandbox/stats")

    def reset(self) -> None:
        self.control("/_sandbox/reset", {})

    def settings(self, **settings: Any) -> Any:
        return self.control("/_sandbox/settings", settings)

    def faults(self, target: str, *faults: dict[str, Any]) -> Any:
        return self.control("/_sandbox/faults", {"target": target, "faults": list(faults)})

    def revoke(self) -> Any:
        return self.control("/_sandbox/revoke", {})
