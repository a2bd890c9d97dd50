"""File formats: the canonical dijet table, input adapters, atomic writes."""
