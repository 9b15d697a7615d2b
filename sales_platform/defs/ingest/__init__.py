"""Uploads in: the store-day assets and their checks, the inbox sensor and the job it starts."""
