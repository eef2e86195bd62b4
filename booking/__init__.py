"""Bookings: the stay rules, reserving every night or none, holds that expire,
cancellation and its refund amount, reconciling inventory with live bookings."""
