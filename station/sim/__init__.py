"""The virtual cart: emulated iPads and Android tablets that speak the real wire protocols.

The emulators are servers (usbmuxd, lockdownd and its services, an adb server) so that the
real client libraries - and the station's real drivers over them - run unchanged against them.
"""
