"""Library lookup and the wheel: what a user installing the package sees."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import starmile
from sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox

BINDING_DIR = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(starmile.__file__).resolve().parent
BUNDLED = PACKAGE_DIR / "libstarmile.so"


def run_python(python: str, code: str, env: dict[str, str], cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def env_without_library() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STARMILE_LIB", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(PACKAGE_DIR.parent)
    return env


def test_lookup_failure_names_all_three_places(tmp_path: Path) -> None:
    code = (
        "import pathlib, starmile, starmile._ffi as f\n"
        "f.BUNDLED_PATH = pathlib.Path('/nonexistent/libstarmile.so')\n"
        "try:\n    starmile.Client('http://127.0.0.1:1', 'a', 'b')\n"
        "except starmile.LibraryNotFoundError as e:\n    print(e)\n"
    )
    result = run_python(sys.executable, code, env_without_library(), str(tmp_path))
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert "STARMILE_LIB" in message
    assert "/nonexistent/libstarmile.so" in message
    assert "system loader" in message


def test_unloadable_starmile_lib_is_reported_not_skipped(tmp_path: Path) -> None:
    env = env_without_library()
    env["STARMILE_LIB"] = str(tmp_path / "missing.so")
    code = "import starmile\ntry:\n    starmile.library_version()\nexcept starmile.LibraryNotFoundError as e:\n    print(e)"
    result = run_python(sys.executable, code, env, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "missing.so" in result.stdout and "STARMILE_LIB" in result.stdout


@pytest.mark.skipif(not BUNDLED.exists(), reason="running from a source tree without the bundled library")
def test_bundled_copy_is_used_without_starmile_lib(tmp_path: Path) -> None:
    result = run_python(sys.executable, "import starmile; print(starmile.library_path())", env_without_library(), str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(BUNDLED)


def test_wheel_installed_into_a_fresh_venv_calls_the_api(tmp_path: Path, sandbox: Sandbox) -> None:
    wheel_dir = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheel_dir)]
    if importlib.util.find_spec("setuptools") and importlib.util.find_spec("wheel"):
        build.append("--no-build-isolation")  # offline and faster; the venv has what it needs
    built = subprocess.run([*build, str(BINDING_DIR)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheel_dir.glob("starmile-*.whl")
    assert not wheel.name.endswith("-none-any.whl"), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "starmile/libstarmile.so" in names and "starmile/py.typed" in names

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)
    python = str(fresh / "bin" / "python")
    install = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", "--no-deps", str(wheel)]
    installed = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if k not in ("STARMILE_LIB", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env.update(STARMILE_BASE_URL=sandbox.url, STARMILE_CLIENT_ID=CLIENT_ID, STARMILE_CLIENT_SECRET=CLIENT_SECRET)
    code = (
        "import json, starmile\n"
        "with starmile.Client() as c:\n"
        "    r = c.get('/v1/echo', params={'from': 'wheel'})\n"
        "    print(json.dumps([starmile.library_path(), r.status_code, r.json()['query']]))\n"
    )
    result = run_python(python, code, env, str(tmp_path))
    assert result.returncode == 0, result.stderr
    library, status, query = json.loads(result.stdout)
    assert library.startswith(str(fresh)) and library.endswith("starmile/libstarmile.so")
    assert (status, query) == (200, "from=wheel")
