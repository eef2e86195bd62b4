"""A password reset asked for: its token and its mail written in one transaction."""

from identity import resets
from mail import messages, outbox
from plumbing import transactions


def send_reset(db, email, public_url):
    """Write a reset token and its mail for this email's account, if there is one;
    returns whether there was (the caller must not say)."""

    def unit(session):
        issued = resets.issue(db, email, session=session)
        if issued is None:
            return False
        user, token, reset_id = issued
        message = messages.password_reset(user, token, resets.RESET_MINUTES, public_url)
        outbox.enqueue(
            db,
            f"reset:{reset_id}",
            user=user["_id"],
            kind="password.reset",
            session=session,
            **message,
        )
        return True

    return transactions.run(db.client, unit)


def reset_password(db, token, password):
    return transactions.run(db.client, lambda session: resets.redeem(db, token, password, session))
