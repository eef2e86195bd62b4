"""Who is who: accounts, password hashes, bearer tokens, the admin bootstrap."""
