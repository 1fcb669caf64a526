"""Tests of the dashboard (src/durableruns/dashboard), over HTTP and in headless Chromium."""
