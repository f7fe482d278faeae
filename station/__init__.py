"""Enrollment station: supervise, enroll and preload school tablets on a USB cart."""

__version__ = "0.1.0"
