"""Notifications to organisations: webhooks and e-mail about their cameras, requests and
evidence (`service.announce`), delivered by jobs with retries and a delivery log."""
