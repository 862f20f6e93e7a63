"""Reading the YAML files users edit (recognizer and category definitions): one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# libyaml's C parser where PyYAML was built with it (the wheels are): about 10x faster start-up.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """The parsed file; `error`, naming the path (and the line and column where YAML tells them),
    when the file cannot be read, is not UTF-8 or is not YAML."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:  # one line: where, and what is wrong there
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise error(f"{path}: invalid YAML: {where}{problem}") from None
