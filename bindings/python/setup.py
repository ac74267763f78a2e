"""Bundles libstarmile into the package and marks the wheel as platform-specific.

The library is taken from $STARMILE_LIB, else from the repository's
target/release/ (build it first: cargo build --release). The wheel is tagged
py3-none-<platform>: it holds a native library but no CPython extension, so
one wheel serves every Python 3 on that platform.
"""

import os
import shutil
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from starmile._ffi import LIBRARY_FILE  # noqa: E402  (loads nothing: the library is opened lazily)


def find_library() -> Path:
    explicit = os.environ.get("STARMILE_LIB")
    if explicit:
        if not Path(explicit).is_file():
            raise SystemExit(f"starmile: STARMILE_LIB={explicit} is not a file")
        return Path(explicit)
    candidates = [HERE / "starmile" / LIBRARY_FILE, HERE.parent.parent / "target" / "release" / LIBRARY_FILE]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SystemExit(
        f"starmile: {LIBRARY_FILE} not found (looked at {', '.join(map(str, candidates))}). "
        "Build it with `cargo build --release` at the repository root, or set STARMILE_LIB to the file."
    )


class build_py_with_library(build_py):
    def run(self) -> None:
        super().run()
        library = find_library()
        target = Path(self.build_lib) / "starmile" / LIBRARY_FILE
        if library.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(library, target)
            os.chmod(target, 0o755)
        print(f"starmile: bundled {library}", file=sys.stderr)


class BinaryDistribution(Distribution):
    """Holds a native library: installs into platlib, wheel is not pure."""

    def has_ext_modules(self) -> bool:
        return True


class bdist_wheel_platform(bdist_wheel):
    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"build_py": build_py_with_library, "bdist_wheel": bdist_wheel_platform})
