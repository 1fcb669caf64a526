"""What runs the user's code: the attempt activity, the task runtime and executor, crash
isolation (task processes), the engine's other activities, and the worker assembly."""
