"""Comparison encoders (flat MLP, DeepSets, STATNN, graph metanetwork), registered by name."""
