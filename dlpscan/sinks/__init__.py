"""Where results go: JSONL (the stable report contract), CSV, and alert sinks."""
