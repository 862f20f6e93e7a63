"""The one error type of the EDM package: its message is safe to print (never a value)."""


class EdmError(ValueError):
    """An EDM schema, key or index problem; the CLI prints the message and exits 2."""
