"""Any torch step function as a cell: :class:`TorchCell`.

``step(h, x) -> h_new`` on 1-D tensors (a function or an ``nn.Module``) becomes
a :class:`~spectra.Cell`: the forward pass runs in float64 on the device the
module lives on, and the step Jacobians stay matrix-free (vectorised
``torch.func.jvp``/``vjp`` over the columns of a block; ``jacrev``/``jacfwd``
where a dense step Jacobian is asked for).  Only small results come back to
the host.

torch is imported inside functions only: importing this module does not load
it.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import contextlib
import copy
import warnings

import numpy as np

from .._core.interop import is_module, is_tensor
from .._core.validation import describe
from .autodiff import FunctionCell

__all__ = ["TorchCell", "prepare_module", "TorchOps", "math_attention"]


def prepare_module(module, name="step"):
    """A float64, eval-mode copy of a torch module and the device it lives on.

    The user's module is left as it is.  A module on the meta device (no
    data) is refused with a ValueError naming ``name``.
    """
    import torch

    tensors = list(module.parameters()) + list(module.buffers())
    devices = {t.device for t in tensors}
    if any(d.type == "meta" for d in devices):
        raise ValueError(f"`{name}` is on the meta device (its tensors hold no data); "
                         "materialise it first, e.g. module.to_empty(device='cpu') and "
                         "load_state_dict(...)")
    if len(devices) > 1:
        raise ValueError(f"`{name}` has tensors on several devices {sorted(map(str, devices))}; "
                         "move it to one device first")
    device = devices.pop() if devices else torch.device("cpu")
    copied = copy.deepcopy(module).to(dtype=torch.float64)
    copied.eval()
    return copied, device


def math_attention():
    """A context running scaled-dot-product attention by its plain formula.

    The fused CPU/GPU attention kernels have no forward-mode derivative and
    no batching rule for their backward; the math kernel is made of
    ordinary operations that ``torch.func`` differentiates and vectorises.
    """
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:   # an older torch: nothing to switch
        return contextlib.nullcontext()
    return sdpa_kernel([SDPBackend.MATH])


@contextlib.contextmanager
def _quiet_jvp():
    """Silence the DeprecationWarning torch's forward AD raises about itself on first use
    (it scripts its own decompositions with ``torch.jit.script``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*",
                                category=DeprecationWarning)
        yield


class TorchOps:
    """jvp, vjp, dense Jacobian and evaluation of one function of a 1-D tensor.

    The work of a torch backend: ``f`` maps a 1-D float64 tensor on
    ``device`` to a tensor (reshaped to 1-D).  Inputs and outputs of the
    methods are numpy arrays.
    """

    def __init__(self, device):
        self.device = device

    def tensor(self, a):
        import torch

        a = np.ascontiguousarray(a, dtype=np.float64)
        if not a.flags.writeable:
            a = a.copy()
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    @staticmethod
    def numpy(t):
        return t.detach().to("cpu").numpy()

    def evaluate(self, f, h, name="step"):
        import torch

        # grad mode on: in eval mode under no_grad, torch's fused fast paths (e.g. of
        # nn.TransformerEncoderLayer) differ from the differentiated ops by ~1e-8
        with torch.enable_grad(), math_attention():
            out = f(self.tensor(h))
        if not is_tensor(out):
            raise TypeError(f"`{name}` must return a torch tensor; got {describe(out)}")
        return self.numpy(out.detach().to(torch.float64))

    def jvp(self, f, p, V, n_out=None):
        from torch.func import jvp, vmap

        if n_out is not None and V.shape[1] * 4 >= min(n_out, p.shape[0]):
            # a wide block: vectorised forward mode costs several times a reverse pass
            # (measured: 256 columns at n = 256, 18x), so form J_t by jacrev and multiply
            return self.jacobian(f, p, n_out) @ V

        cols = vmap(lambda v: jvp(f, (p,), (v,))[1], in_dims=1, out_dims=1)
        with math_attention(), _quiet_jvp():
            return self.numpy(cols(self.tensor(V)))

    def vjp(self, f, p, U):
        from torch.func import vjp, vmap

        with math_attention():
            _, pull = vjp(f, p)
            cols = vmap(lambda u: pull(u)[0], in_dims=1, out_dims=1)
            return self.numpy(cols(self.tensor(U)))

    def jacobian(self, f, p, n_out):
        from torch.func import jacfwd, jacrev

        jac = jacfwd if 4 * p.shape[0] < n_out else jacrev
        with math_attention(), _quiet_jvp():
            return self.numpy(jac(f)(p)).reshape(n_out, p.shape[0])


class _StepPoints:
    """``points[t - 1] = (h_{t-1}, x_t)``, tensors on the device (O(T n))."""

    def __init__(self, H, X):
        self.H, self.X = H, X

    def __len__(self):
        return self.H.shape[0]

    def __getitem__(self, i):
        return self.H[i], (None if self.X is None else self.X[i])


class _TorchStepBackend:
    def __init__(self, step, device):
        self.step = step
        self.ops = TorchOps(device)

    def _f(self, x):
        return lambda h: self.step(h, x)

    def forward(self, h, x):
        xt = None if x is None else self.ops.tensor(x)
        return self.ops.evaluate(self._f(xt), h)

    def points(self, H, X):
        return _StepPoints(self.ops.tensor(H), None if X is None else self.ops.tensor(X))

    def jvp(self, t, p, V):
        return self.ops.jvp(self._f(p[1]), p[0], V, p[0].shape[0])

    def vjp(self, t, p, U):
        return self.ops.vjp(self._f(p[1]), p[0], U)

    def jacobian(self, t, p):
        return self.ops.jacobian(self._f(p[1]), p[0], p[0].shape[0])


class TorchCell(FunctionCell):
    """A torch step function ``step(h, x) -> h_new`` as a cell, with Jacobians by ``torch.func``.

    Parameters
    ----------
    step : callable or torch.nn.Module
        Maps the state ``h`` (a 1-D float64 tensor of length ``state_size``)
        and the input ``x`` (1-D, length ``input_size``; None for a cell
        without input) to the new state, with torch operations that
        ``torch.func`` can differentiate (no in-place writes into ``h``).
        A module is copied, cast to float64 and put in eval mode (the
        user's module is not changed); the work runs on the device it lives
        on.  A plain function must itself use float64 tensors (on
        ``device``).
    state_size : int
        n, the length of h.
    input_size : int, optional
        The length of x (None or 0: the cell takes no input and ``step`` is
        called with ``x=None``).
    device : str or torch.device, optional
        Where a plain function's tensors live (default: the module's
        device, else the CPU).

    Notes
    -----
    The step Jacobians ``J_t = dh_t/dh_{t-1}`` are kept matrix-free: the
    trajectory stores h_{t-1} and x_t only (O(T n) memory) and a product of
    ``J_t`` with a block of m vectors is one ``torch.func.jvp`` (or ``vjp``)
    vectorised over the columns by ``torch.func.vmap``; ``jacobian(t)`` is
    one ``jacrev``.  Every analysis that works through the Jacobians works
    on it (products, norm profiles, Lyapunov spectra, top singular values,
    ``bound_report``); the classic weight-based bounds need the
    :class:`~spectra.cells.Recurrence` form, which a general step has not.

    Examples
    --------
    >>> import torch, spectra
    >>> g = torch.Generator().manual_seed(0)
    >>> W = torch.randn(4, 4, generator=g, dtype=torch.float64) / 2
    >>> U = torch.randn(4, 2, generator=g, dtype=torch.float64)
    >>> def plrnn(h, x):                      # a piecewise-linear RNN
    ...     return 0.9 * h + W @ torch.relu(h) + U @ x
    >>> cell = spectra.TorchCell(plrnn, 4, input_size=2)
    >>> traj = cell.run(torch.randn(20, 2, generator=g, dtype=torch.float64).numpy())
    >>> traj.product(20, 0).shape
    (4, 4)
    """

    def __init__(self, step, state_size, *, input_size=None, device=None):
        self._setup(step, state_size, input_size)
        import torch

        if is_module(step):
            step, dev = prepare_module(step, "step")
            self.module = step
        else:
            self.module = None
            dev = torch.device("cpu")
        if device is not None:
            dev = torch.device(device)
            if dev.type == "meta":
                raise ValueError("`device` must hold data; got the meta device")
            if self.module is not None:
                self.module = self.module.to(dev)
                step = self.module
        self.device = dev
        self.backend = _TorchStepBackend(step, dev)
        self._probe()

    def parameters(self) -> dict:
        if self.module is None:
            return {}
        out = {}
        for name, p in self.module.named_parameters():
            a = TorchOps.numpy(p)
            a.flags.writeable = False
            out[name] = a
        return out

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """Parameter cotangents of a run (see :class:`~spectra.Cell`), by ``torch.func.vjp``.

        Under the module's ``named_parameters()`` names (a plain function has
        none: ``{}``).  All steps (and batch rows) go through one vectorised
        call of the step (``torch.func.vmap`` over the points
        ``(h_{t-1}, x_t)``) and one reverse pass, in float64; ``per_step=True``
        vectorises the pullback instead and keeps the step axis.
        """
        if self.module is None:
            return {}
        import torch
        from torch.func import functional_call, vjp, vmap

        ops = self.backend.ops
        module = self.module
        n, T = self.n, cotangents.shape[-2]
        lead = cotangents.shape[:-1]
        params = {k: p.detach() for k, p in module.named_parameters()}
        if T == 0 or not params:
            return {k: np.zeros(lead + tuple(p.shape) if per_step else tuple(p.shape))
                    for k, p in params.items()}
        buffers = {k: b.detach() for k, b in module.named_buffers()}
        H = ops.tensor(np.reshape(states[..., :-1, :], (-1, n)))
        U = ops.tensor(np.reshape(cotangents, (-1, n)))
        X = None if not self.input_size or inputs is None else \
            ops.tensor(np.reshape(inputs, (-1, self.input_size)))

        def step(p, h, x):
            return functional_call(module, (p, buffers), (h, x)).reshape(-1)

        with math_attention(), torch.enable_grad():
            if X is None:
                rows = (lambda p: vmap(lambda h: step(p, h, None))(H))
            else:
                rows = (lambda p: vmap(lambda h, x: step(p, h, x))(H, X))
            if per_step:
                def one(h, x, u):
                    return vjp(lambda p: step(p, h, x), params)[1](u)[0]
                if X is None:
                    g = vmap(lambda h, u: one(h, None, u))(H, U)
                else:
                    g = vmap(one)(H, X, U)
            else:
                g = vjp(rows, params)[1](U)[0]
        out = {}
        for k, p in params.items():
            a = TorchOps.numpy(g[k].to(torch.float64))
            out[k] = a.reshape(lead + tuple(p.shape)) if per_step else a.reshape(tuple(p.shape))
        return out
