"""Cells: step maps h_t = F(h_{t-1}, x_t) with analytic, factored step Jacobians.

Lives here: the :class:`Cell` protocol and the engine that runs it
(:mod:`.base`), the cell registry (:mod:`.registry`), activations
(:mod:`.activations`), weight initialisers (:mod:`.init`), the simple cells
(:mod:`.simple`: Elman, recurrent-first, leaky), the gated cells
(:mod:`.gated`: LSTM, GRU), the Linear Recurrent Unit (:mod:`.lru`, its
Jacobians in :mod:`.rotation`), feedforward stacks (:mod:`.mlp`), normalisation
layers (:mod:`.norm`), stacked layers as one cell (:mod:`.stack`),
input Jacobians (:mod:`.inputs`), :func:`from_torch` (:mod:`.convert`), PyTorch state-dict loading
(:mod:`.state_dict`),
cells from the user's own step functions, differentiated by torch or jax
(:mod:`.torch_cell`, :mod:`.jax_cell`, on :mod:`.autodiff`; neither framework
is imported before it is used) and stacks of torch modules over depth
(:mod:`.depth`), and the diagonal recurrences: Mamba's selective state-space
cell (:mod:`.ssm`), MinGRU and MinLSTM (:mod:`.minimal`), and ensembles of B
networks with stacked weights (:mod:`.ensemble`).

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.  Nothing here
imports an analysis.

Adding a cell: subclass :class:`Cell`, implement its hooks and decorate it with
:func:`register_cell` (see ARCHITECTURE.md).
"""

from . import init
from .activations import Activation, activation, available_activations
from .base import Cell, Recurrence, simulate
from .registry import cell_class, cell_name, register_cell, registered_cells, unregister_cell
from .simple import ElmanRNN, LeakyRNN, RecurrentFirstRNN
from .gated import GRU, LSTM, GRUJacobians, LSTMJacobians
from .lru import LRU
from .rotation import LRUJacobians
from .norm import BatchNorm, LayerNorm, NormLayerJacobians
from .mlp import MLP, LayerJacobians
from .inputs import GatedInputJacobians
from .stack import Stack, StackInputJacobians, StackJacobians
from .convert import from_torch
from .state_dict import flatten_state_dict, read_state_dict, recurrent_weights
from .torch_cell import TorchCell
from .jax_cell import JaxCell
from .depth import TorchDepthStack, depth_stack
from .ssm import SelectiveInputJacobians, SelectiveSSM
from .minimal import MinGRU, MinLSTM
from .ensemble import Ensemble, ensemble

__all__ = [
    "Cell", "Recurrence", "simulate", "register_cell", "unregister_cell", "registered_cells", "cell_class", "cell_name",
    "Stack", "StackJacobians", "StackInputJacobians", "GatedInputJacobians", "from_torch",
    "ElmanRNN", "RecurrentFirstRNN", "LeakyRNN", "LSTM", "GRU", "LRU", "LRUJacobians", "MLP", "LayerNorm", "BatchNorm",
    "GRUJacobians", "LSTMJacobians", "LayerJacobians", "NormLayerJacobians",
    "Activation", "activation", "available_activations", "init",
    "flatten_state_dict", "read_state_dict", "recurrent_weights",
    "TorchCell", "JaxCell", "depth_stack", "TorchDepthStack",
    "SelectiveSSM", "SelectiveInputJacobians", "MinGRU", "MinLSTM", "Ensemble", "ensemble",
]
