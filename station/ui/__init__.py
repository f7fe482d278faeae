"""The station window (PySide6 lives only here)."""
