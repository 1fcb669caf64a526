"""Temporal plumbing shared by every side: the connection (``client``), the data converter,
payload storage, tracing and metrics interceptors, the names of every workflow, signal,
update, query, activity and task queue (``names``), and the search attributes.

The deterministic workflow code is in ``engine.workflows``; what the API calls is in
``durableruns.service``; what runs user code is in ``durableruns.worker``."""
