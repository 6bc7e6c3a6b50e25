"""Checkpoints: a model's state in a file, loaded into the same model built again.

A run changes a model in these places, and a checkpoint holds every one of them:

* every :class:`~refsim.module.State` of every module (potentials, conductances, last
  spike times, delay ring buffers, ...), named by its attribute path from the model, such
  as ``E.syn.g``;
* the inputs queued for a module's next update (a current pushed with
  ``add_current_input``, a jump pushed with ``add_delta_input`` or by a projection);
* the other attributes a module names in ``Module.checkpointed``: a delay's ring position,
  a Poisson source's random stream;
* refsim's own state stream (:func:`refsim.random.default_rng`), which unseeded sources
  draw from.

With them the file records ``dt`` and the time the model has reached, so that::

    refsim.save_state(net, "net.npz", t=result.next_t)
    ...                                       # later, in another process
    net = build()                             # the same code, the same seeds
    t = refsim.load_state(net, "net.npz")
    refsim.run(net, T2, t_start=t)            # = one run of T1 + T2, bit for bit

Structure is not saved: the connectivity, parameters, registered outputs and inputs come
from building the model again (a model of another shape, or another ``dt``, is refused,
naming what differs). A waveform called by a step function (``OUProcessInput``, say) is
not part of a model; one with a ``seed`` of its own keeps its stream outside the file.

The file is a NumPy ``.npz`` archive: an array ``state:PATH`` per state, ``queued:K`` per
queued input, ``attribute:PATH`` per attribute that is an array, and ``manifest``, a JSON
text with the refsim version, ``dt``, ``t``, each state's shape and dtype, where each
queued input goes, the other attributes and the random streams' states. It loads without pickle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import quantities as pq

from refsim import _version, environ
from refsim import random as _random
from refsim.module import Dynamics, Module, State
from refsim.units import to_internal

__all__ = ["save_state", "load_state"]

#: the layout of the file; a file of another layout is refused
FORMAT = 1


def _paths(model: Module) -> Iterator[tuple[str, Module]]:
    """Every module below ``model`` (and itself, path ``''``) with its attribute path, each
    once, under its shortest path (a shared synapse under the first that reaches it): the
    same for a model built again by the same code.  A module in a list or a dict is
    named by its position (a dict's keys may hold names counted per process)."""
    seen: set[int] = {id(model)}
    level = [("", model)]
    while level:
        yield from level
        below = []
        for path, node in level:
            for name, value in vars(node).items():
                for sub, child in _modules_with_paths(value, name):
                    if id(child) not in seen:
                        seen.add(id(child))
                        below.append((_join(path, sub), child))
        level = below


def _modules_with_paths(value: Any, path: str) -> Iterator[tuple[str, Module]]:
    if isinstance(value, Module):
        yield path, value
    elif isinstance(value, (list, tuple, dict)):
        items = value.values() if isinstance(value, dict) else value
        for k, item in enumerate(items):
            yield from _modules_with_paths(item, f"{path}[{k}]")


def _states(nodes: dict[str, Module]) -> dict[str, State]:
    """Every state of the modules ``nodes`` (path -> module), by its path."""
    return {_join(where, name): value for where, node in nodes.items()
            for name, value in vars(node).items() if isinstance(value, State)}


def _queued(node: Module) -> Iterator[tuple[str, str]]:
    """(queue, key) of each input queued for ``node``'s next update."""
    if not isinstance(node, Dynamics):
        return
    for queue in ("current_inputs", "delta_inputs"):
        for key, value in getattr(node, queue).items():
            if isinstance(value, np.ndarray):  # not a registered callable
                yield queue, key


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _attribute(value, name: str, arrays: dict) -> Any:
    """An attribute of ``Module.checkpointed`` as JSON (an array: into ``arrays``)."""
    if isinstance(value, np.random.Generator):
        return {"generator": value.bit_generator.state}
    if isinstance(value, np.ndarray):
        arrays[f"attribute:{name}"] = value
        return {"array": f"attribute:{name}"}
    return value.item() if isinstance(value, np.generic) else value


def _set_attribute(node: Module, name: str, value, arrays: dict) -> None:
    if isinstance(value, dict) and "generator" in value:
        getattr(node, name).bit_generator.state = value["generator"]
    elif isinstance(value, dict) and "array" in value:
        setattr(node, name, arrays[value["array"]].copy())
    else:
        setattr(node, name, value)


def save_state(model: Module, path: str | os.PathLike, t) -> Path:
    """Write the state of ``model`` after a run that reached ``t`` to ``path``.

    Parameters
    ----------
    model : Module
        A model whose states are allocated (``refsim.init_all_states``).
    path : str or path-like
        The file to write (``.npz`` is added where the name lacks it).
    t : quantity, time
        The time the model has reached: ``result.next_t`` of the last run (ms).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    t_ms = float(to_internal(t, "t", pq.ms))
    if not np.isfinite(t_ms):
        raise ValueError(f"t must be a finite time, got {t}")
    nodes = dict(_paths(model))
    states = _states(nodes)
    arrays = {f"state:{name}": state.data for name, state in states.items()}
    queued, attributes = [], {}
    for where, node in nodes.items():
        for queue, key in _queued(node):
            arrays[f"queued:{len(queued)}"] = getattr(node, queue)[key]
            queued.append([where, queue, key])
        for name in type(node).checkpointed:
            attributes[_join(where, name)] = _attribute(getattr(node, name),
                                                        _join(where, name), arrays)
    if not states:
        raise ValueError(f"{type(model).__name__} has no state to save: call "
                         "refsim.init_all_states(model) before a run and a checkpoint")
    manifest = {"format": FORMAT, "refsim": _version.__version__, "model": type(model).__name__,
                "dt_ms": environ.dt_ms(), "t_ms": t_ms,
                "states": {name: _layout(state) for name, state in states.items()},
                "queued": queued, "attributes": attributes,
                "refsim.random": _random.default_rng().bit_generator.state}
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    part = path.with_name(path.name + ".part")  # a file there stays whole until this one is
    with open(part, "wb") as file:  # (np.savez would add .npz to a name without it)
        np.savez(file, manifest=np.array(json.dumps(manifest)), **arrays)
    os.replace(part, path)
    return path


def _layout(state: State) -> list:
    """[shape, dtype] of a state, as the manifest lists it."""
    return [list(state.data.shape), str(state.data.dtype)]


def load_state(model: Module, path: str | os.PathLike) -> pq.Quantity:
    """Load a checkpoint written by :func:`save_state` into ``model``, built again by the
    same code; return the time it had reached (pass it to ``refsim.run`` as
    ``t_start``).

    The model's states are overwritten in place (monitors and outputs bound to them stay
    bound); its queued inputs, the attributes of ``Module.checkpointed`` and
    :func:`refsim.random.default_rng`'s state become those of the file.  ``ValueError``,
    before anything is changed, where the file is no checkpoint, ``dt`` differs, or the
    model's states or attributes differ from the file's in name, shape or dtype.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = json.loads(str(archive["manifest"]))
            arrays = {name: archive[name] for name in archive.files if name != "manifest"}
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not a refsim checkpoint ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {manifest.get('format')!r}; this refsim "
                         f"reads format {FORMAT}")
    if manifest["dt_ms"] != environ.dt_ms():
        raise ValueError(f"{path} was saved at dt = {manifest['dt_ms']} ms; dt is now "
                         f"{environ.dt_ms()} ms (set it with refsim.environ.set(dt=...))")
    nodes = dict(_paths(model))
    states = _states(nodes)
    _same(path, "states", manifest["states"],
          {name: _layout(state) for name, state in states.items()})
    _same(path, "attributes", dict.fromkeys(manifest["attributes"]),
          {_join(where, name): None for where, node in nodes.items()
           for name in type(node).checkpointed})
    for where, _, _ in manifest["queued"]:
        if not isinstance(nodes.get(where), Dynamics):
            raise ValueError(f"{path} holds an input queued for {where!r}, which is no "
                             "population or synapse of this model")
    for name, state in states.items():
        state.data[...] = arrays[f"state:{name}"]
    for where, node in nodes.items():
        # the last step its states hold: a run from the file's t goes on without a
        # ClockWarning, and one from an earlier time warns (as init_all_states resets it)
        node._clock_at = manifest["t_ms"] - manifest["dt_ms"]
        for queue, key in list(_queued(node)):
            del getattr(node, queue)[key]  # queued now: replaced by what was queued then
        for name in type(node).checkpointed:
            _set_attribute(node, name, manifest["attributes"][_join(where, name)], arrays)
    for k, (where, queue, key) in enumerate(manifest["queued"]):
        getattr(nodes[where], queue)[key] = arrays[f"queued:{k}"]
    _random.default_rng().bit_generator.state = manifest["refsim.random"]
    return pq.Quantity(manifest["t_ms"], pq.ms)


def _same(path: Path, what: str, saved: dict, model: dict) -> None:
    """``ValueError`` naming the first difference between the ``what`` (name -> layout,
    or None) of a file and of the model."""
    missing, extra = [n for n in model if n not in saved], [n for n in saved if n not in model]
    if missing or extra:
        def listed(names):
            return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3
                                           else "") if names else "none"

        raise ValueError(f"{path} holds the {what} of another model; this model's not in the "
                         f"file: {listed(missing)}; the file's not in this model: "
                         f"{listed(extra)}")
    for name in model:  # in the model's order: the population first
        if model[name] != saved[name]:
            (shape, dtype), (now_shape, now_dtype) = saved[name], model[name]
            raise ValueError(f"{path}: {name} was saved with shape {tuple(shape)} and dtype "
                             f"{dtype}; this model's has shape {tuple(now_shape)} and dtype "
                             f"{now_dtype}")
