"""Tests of the HTTP facade (src/durableruns/api), including the official client's."""
