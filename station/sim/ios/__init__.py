"""Emulated iPads: usbmuxd, lockdownd and the lockdown services."""
