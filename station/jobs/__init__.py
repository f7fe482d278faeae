"""The provisioning engine: plain asyncio, no Qt, runs headless."""
