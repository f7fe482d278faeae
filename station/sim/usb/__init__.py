"""Emulated USB topology (hubs, ports, descriptors) and a pyusb backend over it."""
