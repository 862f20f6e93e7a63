"""Where the shipped data folders (policies, recognizers) are, installed or in a checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DATA_FOLDERS = ("policies", "recognizers")


def data_dir(name: str) -> Path:
    """The folder holding the shipped `name` data ('policies' or 'recognizers').

    An installed wheel carries them in `dlpscan/_data/<name>` (hatchling force-include);
    a source checkout has them at the repository root, next to the `dlpscan` package.
    """
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; expected one of {', '.join(DATA_FOLDERS)}")
    installed = files("dlpscan") / "_data" / name
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"dlpscan data folder {name!r} not found (looked in {installed} and {checkout})")
