"""The county hub: collects results from many stations, shows a dashboard, exports CSV/JSON."""
