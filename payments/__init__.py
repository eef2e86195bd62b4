"""Taking money: the provider interface and its adapters, charging a booking's total,
confirming it once, webhooks, refunds."""

from payments import providers, stripe_provider


def build(config):
    """The provider PAYMENT_PROVIDER names (settings.check has refused what cannot run)."""
    if config.get("PAYMENT_PROVIDER") == "stripe":
        return stripe_provider.StripeProvider(
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_WEBHOOK_SECRET"],
            api_base=config.get("STRIPE_API_BASE"),
        )
    return providers.SandboxProvider(config["PAYMENT_WEBHOOK_SECRET"])
