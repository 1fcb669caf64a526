"""One router per resource: ``tasks`` (trigger) and ``runs`` (retrieve …)."""
