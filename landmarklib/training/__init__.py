"""Model versions, the training loop and saved runs.

Owns the networks V1-V4, heatmap and transfer and how they are applied
(``models``), the one training entry point (``train``), the run folders and
their cache keys (``runs``) and tf.distribute support (``distribute``).
May import ``core`` and ``data``.
"""
