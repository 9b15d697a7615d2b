"""The stores' time zone when nothing says otherwise: it decides which business day a sale
belongs to (settings, sample data, upload validation and the command line all start from it)."""

DEFAULT_STORE_TIMEZONE = "America/New_York"
