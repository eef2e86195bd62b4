"""The catalogue: hotels, room types and inventory - who may change them, rows that stay
consistent, the inventory range."""
