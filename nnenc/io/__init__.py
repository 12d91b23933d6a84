"""Plumbing every part of nnenc shares: atomic writes that keep the user's umask
(:mod:`nnenc.io.atomic`) and ``KEY=VALUE`` options (:mod:`nnenc.io.assignments`). Nothing here
imports torch."""
