"""nn.functional: more activations, distances, padding, normalisation and losses (re-exported by
functional.py)."""

__all__ = []
