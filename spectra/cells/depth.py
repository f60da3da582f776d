"""A stack of torch modules as a map over depth: :func:`depth_stack`.

Each module maps the output of the one before it (``nn.Linear`` blocks,
residual blocks, ``nn.TransformerEncoderLayer`` on a ``(tokens, d)`` input,
...); as for :class:`spectra.MLP`, depth plays the role of time:
``h_l = module_l(h_{l-1})`` and ``J_l = dh_l/dh_{l-1}``, the state being
the flattened module output (tokens x d for a transformer block).  The layer
Jacobians stay matrix-free (``torch.func`` jvp/vjp over blocks of vectors),
so depth profiles, products and the top singular values of the end-to-end
Jacobian never form a (tokens d) x (tokens d) matrix unless asked.

torch is imported inside functions only.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import NumericalError
from .._core.interop import is_module, is_tensor, tensor_to_numpy
from .._core.validation import check_int, describe
from .autodiff import AutodiffJacobians
from .torch_cell import TorchOps, math_attention, prepare_module

__all__ = ["depth_stack", "TorchDepthStack"]


def _widths(module):
    """(input width, output width) of a module when it declares them, else None."""
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return int(module.in_features), int(module.out_features)
    shape = getattr(module, "normalized_shape", None)
    if shape is not None and len(tuple(shape)) == 1:
        return int(tuple(shape)[0]), int(tuple(shape)[0])
    attn = getattr(module, "self_attn", None)
    if attn is not None and hasattr(attn, "embed_dim"):
        return int(attn.embed_dim), int(attn.embed_dim)
    return None


def _module_list(modules):
    if is_module(modules) and hasattr(modules, "children"):
        items = list(modules.children())
        if not items:
            items = [modules]   # one module on its own
    elif isinstance(modules, (list, tuple)):
        items = list(modules)
    else:
        raise TypeError(f"`modules` must be an nn.Sequential or a list of torch modules; got "
                        f"{describe(modules)}")
    if not items:
        raise ValueError("`modules` must hold at least one module; got an empty stack")
    for i, m in enumerate(items):
        if not (is_module(m) and callable(m)):
            raise TypeError(f"`modules[{i}]` must be a torch nn.Module; got {describe(m)}")
    for i in range(len(items) - 1):
        a, b = _widths(items[i]), _widths(items[i + 1])
        if a is not None and b is not None and a[1] != b[0]:
            raise ValueError(f"the widths of `modules` don't chain: modules[{i}] "
                             f"({type(items[i]).__name__}) gives width {a[1]}, but "
                             f"modules[{i + 1}] ({type(items[i + 1]).__name__}) takes width {b[0]}")
    return items


class _DepthBackend:
    def __init__(self, modules, shapes, device):
        self.modules = modules
        self.in_shapes = shapes      # the input shape of each module
        self.ops = TorchOps(device)

    def _f(self, t):
        module, shape = self.modules[t - 1], self.in_shapes[t - 1]
        return lambda h: module(h.reshape(shape)).reshape(-1)

    def jvp(self, t, p, V):
        return self.ops.jvp(self._f(t), p, V, self.out_sizes[t - 1])

    def vjp(self, t, p, U):
        return self.ops.vjp(self._f(t), p, U)

    def jacobian(self, t, p):
        return self.ops.jacobian(self._f(t), p, self.out_sizes[t - 1])


class TorchDepthStack:
    """A stack of torch modules read as a map over depth (made by :func:`depth_stack`).

    Attributes
    ----------
    modules : tuple of torch.nn.Module
        float64, eval-mode copies of the user's modules (which are left as
        they are), on the device the modules live on.
    device : torch.device
    depth : int
        The number of modules L.

    Examples
    --------
    >>> import torch
    >>> from spectra.cells import depth_stack
    >>> stack = depth_stack([torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)])
    >>> stack.depth, stack.run(torch.ones(3)).widths
    (3, (3, 5, 5, 2))
    """

    def __init__(self, modules):
        import torch

        items = _module_list(modules)
        prepared, devices = [], set()
        for i, m in enumerate(items):
            copied, dev = prepare_module(m, f"modules[{i}]")
            prepared.append(copied)
            if any(True for _ in m.parameters()) or any(True for _ in m.buffers()):
                devices.add(dev)
        if len(devices) > 1:
            raise ValueError(f"`modules` live on several devices {sorted(map(str, devices))}; "
                             "move them to one device first")
        self.device = devices.pop() if devices else torch.device("cpu")
        self.modules = tuple(m.to(self.device) for m in prepared)
        self.depth = len(self.modules)

    def __repr__(self) -> str:
        names = ", ".join(type(m).__name__ for m in self.modules[:4])
        more = ", ..." if self.depth > 4 else ""
        return f"TorchDepthStack(depth={self.depth}, modules=[{names}{more}])"

    def run(self, x, *, steps=None):
        """The forward pass, as a trajectory over depth.

        Parameters
        ----------
        x : array_like or tensor
            The input of the first module in the shape it takes, e.g.
            ``(d,)`` for linear blocks or ``(tokens, d)`` for a transformer
            encoder layer.  The state at each depth is the module's output
            flattened (row-major: index ``i d + j`` for token i, feature j).
        steps : int, optional
            Must equal the depth if given.

        Returns
        -------
        LayerTrajectory
            ``layers[l]`` is the flattened h_l (``layers[0]`` the input);
            ``layer_preactivations`` are the module outputs h_1..h_L (a
            module stack has no separate pre-activations); the Jacobian
            sequence is matrix-free.
        """
        import torch

        from ..jacobians.layer_trajectory import LayerTrajectory

        if steps is not None and check_int(steps, "steps", minimum=0) != self.depth:
            raise ValueError(f"`steps` must equal the depth of the stack ({self.depth}) when "
                             f"given; got steps={steps}")
        if x is None:
            raise TypeError("`x` is required: the input of the first module, e.g. of shape (d,) "
                            "or (tokens, d)")
        a = np.asarray(tensor_to_numpy(x, name="x") if is_tensor(x) else x, dtype=np.float64)
        if a.ndim == 0 or a.size == 0:
            raise ValueError(f"`x` must be the first module's input, of shape (d,) or "
                             f"(tokens, d); got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("`x` must be finite; it contains NaN or inf")
        ops = TorchOps(self.device)
        h = ops.tensor(a)
        shapes, points, layers = [], [], [a.reshape(-1).copy()]
        # grad mode on: see TorchOps.evaluate (no fused fast paths)
        with torch.enable_grad(), math_attention():
            for l, module in enumerate(self.modules):
                shapes.append(tuple(h.shape))
                points.append(h.reshape(-1))
                try:
                    out = module(h)
                except (RuntimeError, ValueError, AssertionError) as err:
                    raise ValueError(f"the widths of `modules` don't chain: modules[{l}] "
                                     f"({type(module).__name__}) cannot take an input of shape "
                                     f"{tuple(h.shape)} (the output of "
                                     f"{'`x`' if l == 0 else f'modules[{l - 1}]'}): {err}") from err
                if not is_tensor(out):
                    raise TypeError(f"`modules[{l}]` must return a tensor; got {describe(out)}")
                h = out.detach().to(torch.float64)
                value = ops.numpy(h).reshape(-1)
                if not np.all(np.isfinite(value)):
                    raise NumericalError(f"the output of modules[{l}] ({type(module).__name__}) "
                                         "is not finite (NaN or inf)")
                layers.append(value)
        backend = _DepthBackend(self.modules, shapes, self.device)
        sizes = [v.size for v in layers]
        backend.out_sizes = sizes[1:]
        seq = AutodiffJacobians(backend, points, [(sizes[l + 1], sizes[l]) for l in range(self.depth)],
                                step_word="layer")
        states = np.stack(layers) if len(set(sizes)) == 1 else None
        return LayerTrajectory(self, layers, layers[1:], seq, states=states,
                               preactivations=None if states is None else states[1:])


def depth_stack(modules) -> TorchDepthStack:
    """A stack of torch modules as a depth map whose "time" is depth.

    Parameters
    ----------
    modules : torch.nn.Sequential or sequence of torch.nn.Module
        Applied in order; each takes the previous one's output (for blocks
        on ``(tokens, d)`` inputs, such as ``nn.TransformerEncoderLayer``,
        the state is the flattened tokens x d vector).  The modules are
        copied in float64 and eval mode (dropout off).

    Returns
    -------
    TorchDepthStack
        ``run(x)`` gives a :class:`~spectra.jacobians.LayerTrajectory` with
        matrix-free layer Jacobians: ``spectra.depth_profile(traj)``,
        ``spectra.top_singular_values(traj.operator(L, 0))`` (the end-to-end
        Jacobian) and per-layer gains
        ``spectra.top_singular_values(traj.operator(l, l - 1), k=1)``.

    Raises
    ------
    TypeError
        ``modules`` is not a stack of torch modules.
    ValueError
        The widths don't chain (checked on the declared widths, and on the
        actual shapes in ``run``), or a module is on the meta device.

    Examples
    --------
    >>> import torch, spectra
    >>> from spectra.cells.depth import depth_stack
    >>> _ = torch.manual_seed(0)
    >>> blocks = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4))
    >>> traj = depth_stack(blocks).run(torch.ones(4))
    >>> traj.steps, traj.product(3, 0).shape
    (3, (4, 4))
    """
    return TorchDepthStack(modules)
