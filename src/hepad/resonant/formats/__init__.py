"""Dijet input formats: the canonical table (table.py) every step reads, and the adapters that
make it from the LHCO R&D features files, 6-column arrays and ROOT trees (features.py: m_jj,
jet masses, tau21)."""
