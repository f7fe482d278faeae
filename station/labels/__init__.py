"""Asset-tag labels (one layout model; PDF, PNG, ZPL and Brother outputs) and the Android QR."""
