"""What runs on workers: the code around user tasks and the engine's activities."""
