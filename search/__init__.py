"""Availability search: the offers for a stay."""
