"""The geometry checker (being built: issue 5)."""
