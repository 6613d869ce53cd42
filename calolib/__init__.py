"""calolib: quantum-assisted VAE (QVAE) study suite for calorimeter shower simulation.

Submodules are imported on demand (``from calolib.rbm import RBM``); importing ``calolib``
itself is cheap and does not import torch or the Ocean SDK.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]


def __dir__():
    return __all__
