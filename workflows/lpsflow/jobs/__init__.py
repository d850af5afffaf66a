"""Jobflow jobs that compute one descriptor each (plus content-addressed identities)."""
