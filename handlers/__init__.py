"""Conversations and commands, written once against the platform-neutral message types."""
