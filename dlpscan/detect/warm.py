"""Imported by the scan workers' fork server (`dlpscan.forking`) for its side effect: it reads what
every worker reads before its first file, the shipped definitions and the reference tables, once, so
that each worker forks with them in memory instead of reading them again (about 0.1 s per worker)."""

from dlpscan.detect import compiled, tables
from dlpscan.detect.categories import load_categories
from dlpscan.detect.registry import load_definitions

load_definitions()
load_categories()
tables.read_all()
if (_core := compiled.core()) is not None:
    _core.read_tables()
