"""Build hook: compile the candidate loop (dlpscan/detect/_core.pyx), the direct calls into Hyperscan
and OpenSSL (dlpscan/detect/_native.pyx) and the byte scans of sheet XML (dlpscan/extract/_xlsxscan.pyx:
the xlsx pre-flight, and the reading of plain workbooks) with Cython when a C compiler is present. All
are optional: what cannot be built (no compiler; for _native, no libhyperscan-dev or libssl-dev) is left
out and dlpscan runs the pure-Python reference (for streamed exports, calamine), which decides exactly
alike (tests/test_differential.py, tests/test_native.py, tests/test_extract_hostile.py,
tests/test_xlsxfast.py)."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROOT = Path(__file__).resolve().parent
# module -> (source, C libraries it links)
MODULES = {
    "dlpscan.detect._core": ("dlpscan/detect/_core.pyx", []),
    "dlpscan.detect._native": ("dlpscan/detect/_native.pyx", ["hs", "crypto"]),
    "dlpscan.extract._xlsxscan": ("dlpscan/extract/_xlsxscan.pyx", []),
}


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
        missing = [m for m in MODULES if m not in built]
        if missing:
            self.app.display_warning(f"dlpscan: not built: {', '.join(missing)}; their pure-Python paths run")
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports them from the source tree
            for path in built.values():
                build_data["force_include"][str(path)] = path.relative_to(self.root).as_posix()


def source_digest(pyx: Path) -> str:
    """dlpscan.extensions.source_digest, the digest the runtime check compares with what is built in:
    that module loaded by its path (it needs the standard library only), not by importing the dlpscan
    package, whose dependencies a build need not have."""
    spec = importlib.util.spec_from_file_location("_dlpscan_extensions", ROOT / "dlpscan" / "extensions.py")
    assert spec is not None and spec.loader is not None
    extensions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extensions)
    return extensions.source_digest(pyx)


def compile_in_place(root: Path) -> dict[str, Path]:
    """Build the extensions next to their .pyx; module -> path of those that were built (raises when
    none could be)."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    cwd = os.getcwd()
    os.chdir(root)
    built: dict[str, Path] = {}
    try:
        for module, (source, libraries) in MODULES.items():
            try:
                digest = source_digest(root / source)
                # the source it was built from: dlpscan.detect.compiled ignores a build of another source
                macros = [("DLPSCAN_SOURCE_DIGEST", f'"{digest}"')]
                extensions = cythonize(
                    [Extension(module, [source], libraries=libraries, define_macros=macros)],
                    compiler_directives={"language_level": "3"},
                    quiet=True,
                )
            except Exception:  # Cython itself failed: the module stays out, like a failed compile
                continue
            for ext in extensions:
                ext.optional = True  # cythonize() returns new Extension objects without the flag
            with tempfile.TemporaryDirectory() as temp:
                dist = Distribution({"ext_modules": extensions, "script_name": "hatch_build.py"})
                cmd = dist.get_command_obj("build_ext")
                cmd.inplace, cmd.build_temp = True, temp
                cmd.ensure_finalized()
                cmd.run()
                path = root / cmd.get_ext_filename(module)
            if path.is_file():
                built[module] = path
    finally:
        os.chdir(cwd)
    if not built:
        raise RuntimeError("the C compiler failed")
    return built
