"""What the API, the dashboard and the CLI call: the client-side services that read and
change runs, batches, tokens, queues and schedules through the Temporal client. Nothing
here runs user code or workflow code (it never imports ``durableruns.worker``)."""
