"""dlpscan: find bulk Chinese personal data in company files."""

__version__ = "0.1.0"
