"""Reading a UMLS Metathesaurus release (META/*.RRF)."""
