"""The runtime: settings, neutral message types, channel adapters, dispatcher, CLI, wiring."""
