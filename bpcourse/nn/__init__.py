r"""Vectorized dense networks: activations, losses, dense layers and an MLP with backprop.

Conventions (those of lesson 03):

- a batch is a matrix ``X`` of shape (N, n_in), one example per row;
- layer $l = 1, \dots, L$ computes $Z^{(l)} = A^{(l-1)} W^{(l)} + b^{(l)}$ and
  $A^{(l)} = f_l(Z^{(l)})$ with $W^{(l)}$ of shape (n_{l-1}, n_l), $b^{(l)}$ of shape (n_l,)
  and $A^{(0)} = X$; the last activation $A^{(L)}$ is the prediction ``y_hat``;
- a gradient named ``dW`` is $\partial L / \partial W$ and has the shape of ``W``.

The backward pass is the chain rule applied layer by layer, last layer first:

$$\delta^{(L)} = \frac{\partial L}{\partial \hat y} \odot f_L'(Z^{(L)}), \qquad
\delta^{(l-1)} = \big(\delta^{(l)} W^{(l)\top}\big) \odot f_{l-1}'(Z^{(l-1)}),$$
$$\frac{\partial L}{\partial W^{(l)}} = A^{(l-1)\top} \delta^{(l)}, \qquad
\frac{\partial L}{\partial b^{(l)}} = \textstyle\sum_{\text{rows}} \delta^{(l)}.$$

The pieces are available one by one (:func:`dense_forward`, :func:`dense_backward`,
:data:`ACTIVATIONS`, :data:`LOSSES`) and assembled in :class:`MLP`, whose
:meth:`MLP.backprop` returns every intermediate of one pass (a :class:`Trace`).

Complex numbers: the activations and losses are written so that complex weights flow through
them unchanged and the functions stay complex-analytic where the real function is smooth
(ReLU and leaky ReLU decide by the real part). That is what the complex-step gradient check
of :mod:`bpcourse.gradcheck` needs.
"""

from __future__ import annotations

from bpcourse.nn.activations import (
    ACTIVATIONS,
    LEAKY_RELU_SLOPE,
    Activation,
    activate,
    activation_derivative,
    explorer_activations,
    register_activation,
)
from bpcourse.nn.conv import conv1d_backward, conv1d_forward, conv2d_backward, conv2d_forward
from bpcourse.nn.embedding import embedding_backward, embedding_forward
from bpcourse.nn.init import INITS, Init, explorer_inits, init_weights, register_init
from bpcourse.nn.losses import (
    LOSSES,
    Loss,
    mse,
    mse_grad,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_grad,
)
from bpcourse.nn.mlp import MLP, Trace, dense_backward, dense_forward
from bpcourse.nn.pool import maxpool2d_argmax, maxpool2d_backward, maxpool2d_forward
from bpcourse.nn.rnn import (
    RNN,
    SEQUENCE_CLIPS,
    RNNGradients,
    RNNTrace,
    recurrent_weights,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LEAKY_RELU_SLOPE",
    "LOSSES",
    "MLP",
    "RNN",
    "SEQUENCE_CLIPS",
    "Activation",
    "Init",
    "Loss",
    "RNNGradients",
    "RNNTrace",
    "Trace",
    "activate",
    "activation_derivative",
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "dense_backward",
    "dense_forward",
    "embedding_backward",
    "embedding_forward",
    "explorer_activations",
    "explorer_inits",
    "init_weights",
    "maxpool2d_argmax",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "mse",
    "mse_grad",
    "recurrent_weights",
    "register_activation",
    "register_init",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
]
