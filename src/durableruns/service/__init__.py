"""What the API, dashboard and CLI call: client-side services over Temporal."""
