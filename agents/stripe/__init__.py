"""Stripe as a source (BILLING.md "Stripe as a source"): Stripe's own webhook events turned
into growthstream's input events, so a team on Stripe needs no translator of its own.

- `mapping.map_event`: one Stripe event object -> what it means to us, as data (events,
  ignored, or rejected with a reason). Pure: no I/O, no state, so a redelivered or
  reordered webhook maps exactly as the original did and the engine's rules (duplicates,
  event time, the stale rule) decide what it changes.
- `convert`: a file of Stripe events -> replay lines, with the counts the commands print.
- `webhook`: `POST /webhooks/stripe` on the worker's web server (signature checked with the
  official `stripe` package).

docs/STRIPE.md says which API versions and fields are read, and what is ignored.
"""
