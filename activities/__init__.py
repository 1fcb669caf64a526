"""Example leaf tasks: their code runs as attempts (Temporal activities).

Their ids are a contract other tools rely on: hello-world, sleepy, always-fails,
flaky, too-slow, crash-me, oom, streams-tokens, sync-orders (lifecycle hooks), and
every-minute (a scheduled task, cron ``* * * * *``).
``durableruns dev`` loads this package by default.
"""
