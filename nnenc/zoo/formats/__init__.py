"""Readers for the published zoo formats; :func:`nnenc.zoo.load_zoo` picks among them."""
