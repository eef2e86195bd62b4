"""Taking money: the provider interface and its adapters, charging a booking's total,
confirming it once, webhooks, refunds."""
