"""Client-side services: what the API, the dashboard and the CLI call (they speak
Temporal through the client, never run workflow or task code)."""
