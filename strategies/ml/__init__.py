"""ML signals: causal features, labels, purged walk-forward training, leakage audit, evaluation.

See docs/ml.md. Modules: ``features`` (bars), ``book_features`` (order books), ``labels``,
``splits``, ``model``, ``evaluate``, ``audit``, ``persist``, ``pipeline`` (data -> run folder)
and ``strategy`` (the ``ml_signal`` strategy).
"""
