"""The business core that hooks and routes both call; no Flask request objects in here."""
