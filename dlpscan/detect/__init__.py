"""Detection: recognizer definitions, validators, the fast engine and the Presidio adapter."""
