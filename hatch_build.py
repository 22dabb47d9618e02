"""Build hook: compile the optional C speedups.

They are the core's hot loops (src/amiproto/_speedups.c) and the clients'
dispatch loop (src/amiproto_transports/_dispatch.c). The packages are complete
without them, so a failed compile only warns and the wheel stays pure Python.
Set AMIPROTO_PURE_PYTHON=1 to skip the compile. An editable install puts each
module beside its sources, where the import system looks for it; a regular
wheel carries them inside.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from setuptools import Distribution, Extension
from setuptools.command.build_ext import build_ext

MODULES = ("amiproto._speedups", "amiproto_transports._dispatch")


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("AMIPROTO_PURE_PYTHON"):
            return
        self._work = Path(tempfile.mkdtemp(prefix="amiproto-build-"))
        try:
            built = [(module, self._compile(module)) for module in MODULES]
        except Exception as error:  # any compiler or toolchain failure
            print(f"amiproto: C speedups not built ({error}); pure Python only", file=sys.stderr)
            return
        for module, path in built:
            package = module.partition(".")[0]
            if version == "editable":
                shutil.copy2(path, Path(self.root) / "src" / package / path.name)
            else:
                build_data["force_include"][str(path)] = f"{package}/{path.name}"
        if version != "editable":
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def _compile(self, module: str) -> Path:
        package, _, name = module.partition(".")
        source = Path(self.root) / "src" / package / f"{name}.c"
        extension = Extension(module, sources=[str(source)])
        command = build_ext(Distribution({"name": "amiproto", "ext_modules": [extension]}))
        command.build_lib = str(self._work / "lib")
        command.build_temp = str(self._work / "temp")
        command.ensure_finalized()
        command.run()
        return Path(command.get_ext_fullpath(module))
