"""disclosure layer."""
