"""Views of a network: what its parameters become before an encoder reads them.

- :mod:`nnenc.views.chunks`: each layer's units cut into padded chunks (SNE's sets);
- :mod:`nnenc.views.graph`: the neural graph, a node per neuron and an edge per weight (GMN,
  neural-graph PNA);
- :mod:`nnenc.views.statistics`: fixed-length weight statistics (STATNN; a predictor's training
  domain).

The flat vector is the network's own (:meth:`nnenc.params.NetworkParams.to_flat`, in its zoo's
:class:`~nnenc.layout.FlatLayout`); the probes' view is the network run on inputs
(:mod:`baselines.probe`).
"""


class EncoderInputError(ValueError):
    """A network (or batch) an encoder cannot read; the message says which and why.

    Defined with the views, which raise it where a network does not fit one, and below the
    encoders, which raise it too (``nnenc.encoders`` exports it)."""
