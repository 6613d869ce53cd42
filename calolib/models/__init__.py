"""QVAE models: configuration, encoders/decoders, relaxations, conditioning, positional encodings, losses.

Public names: :class:`ModelConfig`, :class:`QVAE` and its outputs :class:`EncoderOutput`,
:class:`DecoderOutput`, :class:`ForwardOutput`, plus the loss helpers :func:`total_loss`, :func:`ahep`.
Imports without the Ocean SDK (the RBM's dimod bridge is imported lazily).

Example:
    >>> import torch
    >>> model = QVAE(ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", encoder_hidden=(8,), decoder_hidden=(8,)))
    >>> x, e = torch.randn(3, 6480), torch.tensor([1e3, 1e4, 1e5])
    >>> out = model(x, e)
    >>> terms = model.loss_terms(x, e, out, neg_z=torch.zeros(5, 16))
    >>> sorted(terms), bool(torch.isfinite(total_loss(terms, 1.0)))
    (['ae', 'ent', 'hits', 'neg', 'pos'], True)
"""
from calolib.models.config import ModelConfig
from calolib.models.losses import TERM_NAMES, ahep, bernoulli_entropy, total_loss
from calolib.models.qvae import QVAE, DecoderOutput, EncoderOutput, ForwardOutput

__all__ = ["ModelConfig", "QVAE", "EncoderOutput", "DecoderOutput", "ForwardOutput",
           "total_loss", "ahep", "bernoulli_entropy", "TERM_NAMES"]


def __dir__():
    return __all__
