"""Emulated Android tablets behind an emulated adb server."""
