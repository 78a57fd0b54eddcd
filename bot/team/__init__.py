"""The team's side: alerts, follow-ups, the reply relay, webhooks, reports and the organizer's service."""
