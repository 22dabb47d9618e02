"""Build hook: compile the optional C speedups (src/amiproto/_speedups.c).

The package is complete without them, so a failed compile only warns and the
wheel stays pure Python. Set AMIPROTO_PURE_PYTHON=1 to skip the compile.
An editable install puts the module beside the sources, where the import
system looks for it; a regular wheel carries it inside.
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

MODULE = "amiproto._speedups"
SOURCE = Path("src") / "amiproto" / "_speedups.c"


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("AMIPROTO_PURE_PYTHON"):
            return
        self._work = Path(tempfile.mkdtemp(prefix="amiproto-build-"))
        try:
            built = self._compile()
        except Exception as error:  # any compiler or toolchain failure
            print(f"amiproto: C speedups not built ({error}); pure Python only", file=sys.stderr)
            return
        if version == "editable":
            shutil.copy2(built, Path(self.root) / "src" / "amiproto" / built.name)
        else:
            build_data["force_include"][str(built)] = f"amiproto/{built.name}"
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def _compile(self) -> Path:
        extension = Extension(MODULE, sources=[str(Path(self.root) / SOURCE)])
        command = build_ext(Distribution({"name": "amiproto", "ext_modules": [extension]}))
        command.build_lib = str(self._work / "lib")
        command.build_temp = str(self._work / "temp")
        command.ensure_finalized()
        command.run()
        return Path(command.get_ext_fullpath(MODULE))
