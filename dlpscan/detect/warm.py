"""Imported by the scan workers' fork server (`dlpscan.forking`) for its side effect: it reads what
every worker reads before its first file, the shipped definitions and the reference tables, once, so
that each worker forks with them in memory instead of reading them again (about 0.1 s per worker).
The Public Suffix List behind e-mail validation is loaded here too: a worker's first e-mail address
would otherwise cost it about 70 ms (tldextract and what it imports, the snapshot parsed)."""

from dlpscan.detect import compiled, tables, validators
from dlpscan.detect.categories import load_categories
from dlpscan.detect.registry import load_definitions

load_definitions()
load_categories()
tables.read_all()
if (_core := compiled.core()) is not None:
    _core.read_tables()
validators.email_address("warm@example.com")
