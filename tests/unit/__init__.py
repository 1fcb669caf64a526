"""Pure-logic tests: no Temporal server, no facade, no worker."""
