"""Delivery channels for notifications (e-mail over SMTP, signed webhooks)."""
