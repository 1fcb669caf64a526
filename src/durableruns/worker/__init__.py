"""What runs user code and engine activities on a worker."""
