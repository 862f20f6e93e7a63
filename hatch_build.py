"""Build hook: compile the candidate loop (dlpscan/detect/_core.pyx) with Cython when a C compiler is
present. It is optional: if it cannot be built the wheel is pure Python and dlpscan runs the
reference loop, which decides exactly alike (tests/test_differential.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "dlpscan.detect._core"
SOURCE = "dlpscan/detect/_core.pyx"


class CompiledLoopHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        try:
            built = compile_in_place(Path(self.root))
        except Exception as exc:  # no compiler, no headers: a pure-Python install
            self.app.display_warning(f"dlpscan: compiled loop not built ({exc}); pure-Python engine")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports it from the source tree
            build_data["force_include"][str(built)] = built.relative_to(self.root).as_posix()


def compile_in_place(root: Path) -> Path:
    """Build the extension next to its .pyx and return its path (raises when it could not be built)."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    cwd = os.getcwd()
    os.chdir(root)
    try:
        extensions = cythonize(
            [Extension(MODULE, [SOURCE])], compiler_directives={"language_level": "3"}, quiet=True
        )
        for ext in extensions:
            ext.optional = True  # cythonize() returns new Extension objects without the flag
        with tempfile.TemporaryDirectory() as temp:
            dist = Distribution({"ext_modules": extensions, "script_name": "hatch_build.py"})
            cmd = dist.get_command_obj("build_ext")
            cmd.inplace, cmd.build_temp = True, temp
            cmd.ensure_finalized()
            cmd.run()
            built = root / cmd.get_ext_filename(MODULE)
    finally:
        os.chdir(cwd)
    if not built.is_file():
        raise RuntimeError("the C compiler failed")
    return built
