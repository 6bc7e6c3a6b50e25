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

import contextlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import quantities as pq

from refsim import _version, environ
from refsim import random as _random
from refsim.module import Dynamics, Module, State
from refsim.units import to_internal

__all__ = ["save_state", "load_state", "CheckpointError", "CheckpointWarning"]

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
    return {
        _join(where, name): value
        for where, node in nodes.items()
        for name, value in vars(node).items()
        if isinstance(value, State)
    }


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


def _owner(node: Module, name: str) -> tuple[Any, str]:
    """The object holding the attribute ``name`` of ``node`` (``'p.freqs'``: its
    parameters) and the attribute's own name."""
    *path, last = name.split(".")
    for part in path:
        node = getattr(node, part)
    return node, last


def _get_attribute(node: Module, name: str):
    owner, last = _owner(node, name)
    return getattr(owner, last)


def _set_attribute(node: Module, name: str, value, arrays: dict) -> None:
    owner, name = _owner(node, name)
    if isinstance(value, dict) and "generator" in value:
        getattr(owner, name).bit_generator.state = value["generator"]
    elif isinstance(value, dict) and "array" in value:
        setattr(owner, name, arrays[value["array"]].copy())
    else:
        setattr(owner, name, value)


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into this model, or cannot be saved: a file that
    is missing, truncated, corrupt or no refsim checkpoint, of another format, ``dt`` or
    model, holding a value that is not finite, or a random stream's state that does not
    fit.  Raised before anything is changed; the message says which file and what."""


class CheckpointWarning(UserWarning):
    """A checkpoint written by a newer refsim than this one: its layout is the one this
    refsim reads (the same format), but the models that wrote it may differ."""


def save_state(model: Module, path: str | os.PathLike, t) -> Path:
    """Write the state of ``model`` after a run that reached ``t`` to ``path``.

    The file is written whole under a name of its own in the same folder, flushed to the
    disk, then renamed over ``path`` (so that a reader sees the old file or the new one,
    never a part; two processes saving to one path each write their own temporary file,
    and the last rename wins); a failure removes the temporary file.

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

    Raises
    ------
    CheckpointError
        Where the model has no state, or a state holds a value that is not finite (a run
        that ended in :class:`refsim.NumericalInstability`): such a file could not be
        loaded.
    """
    t_ms = float(to_internal(t, "t", pq.ms))
    nodes = dict(_paths(model))
    states = _states(nodes)
    if not states:
        raise CheckpointError(
            f"{type(model).__name__} has no state to save: call "
            "refsim.init_all_states(model) before a run and a checkpoint"
        )
    arrays = {f"state:{name}": state.data for name, state in states.items()}
    queued, attributes = [], {}
    for where, node in nodes.items():
        for queue, key in _queued(node):
            arrays[f"queued:{len(queued)}"] = getattr(node, queue)[key]
            queued.append([where, queue, key])
        for name in type(node).checkpointed:
            attributes[_join(where, name)] = _attribute(
                _get_attribute(node, name), _join(where, name), arrays
            )
    for name, array in arrays.items():
        _require_finite_array(name, array, "the model to save")
    manifest = {
        "format": FORMAT,
        "refsim": _version.__version__,
        "model": type(model).__name__,
        "dt_ms": environ.dt_ms(),
        "t_ms": t_ms,
        "states": {name: _layout(state) for name, state in states.items()},
        "queued": queued,
        "attributes": attributes,
        "refsim.random": _random.default_rng().bit_generator.state,
    }
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder: give the checkpoint a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(
            f"cannot create the folder {path.parent}: {exc.strerror or exc}"
        ) from None
    _write_whole(
        path, lambda file: np.savez(file, manifest=np.array(json.dumps(manifest)), **arrays)
    )
    return path


def _write_whole(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file of its own beside ``path``, flush it to the
    disk and rename it to ``path``; remove it if anything fails (a Ctrl-C included)."""
    try:
        handle, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise CheckpointError(f"cannot write in {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as file:  # (np.savez would add .npz to a bare name)
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(part)
        if isinstance(exc, OSError):  # a full disk, a folder gone: the file is untouched
            raise CheckpointError(
                f"cannot write {path}: {exc.strerror or exc}; the file there, if any, is as it was"
            ) from None
        raise


def _layout(state: State) -> list:
    """[shape, dtype] of a state, as the manifest lists it."""
    return [list(state.data.shape), str(state.data.dtype)]


def _require_finite_array(name: str, array: np.ndarray, where: str) -> None:
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        first = (
            tuple(int(i) for i in np.unravel_index(int(np.argmin(np.isfinite(array))), array.shape))
            if array.ndim
            else ()
        )
        raise CheckpointError(
            f"{where}: {name} holds a value that is not finite "
            f"({array[first]} at {first}); a checkpoint holds finite "
            "states only"
        )


def load_state(model: Module, path: str | os.PathLike) -> pq.Quantity:
    """Load a checkpoint written by :func:`save_state` into ``model``, built again by the
    same code; return the time it had reached (pass it to ``refsim.run`` as
    ``t_start``).

    The model's states are overwritten in place (monitors and outputs bound to them stay
    bound); its queued inputs, the attributes of ``Module.checkpointed`` and
    :func:`refsim.random.default_rng`'s state become those of the file.

    Raises
    ------
    CheckpointError
        Before anything is changed, where the file is missing, unreadable (truncated,
        corrupt, empty, no ``.npz``), no refsim checkpoint or of another format; its
        manifest lacks an entry or holds one of the wrong kind; an array differs from the
        manifest or holds a value that is not finite; a random stream's state does not
        fit; ``dt`` differs; or the model's states or attributes differ from the file's in
        name, shape or dtype.  The message names the file and what is wrong.

    Warns
    -----
    CheckpointWarning
        Where the file was written by a newer refsim.
    """
    path = Path(path)
    manifest, arrays = _read(path)
    _check_manifest(path, manifest, arrays)
    if manifest["dt_ms"] != environ.dt_ms():
        raise CheckpointError(
            f"{path} was saved at dt = {manifest['dt_ms']} ms; dt is now "
            f"{environ.dt_ms()} ms (set it with refsim.environ.set(dt=...))"
        )
    nodes = dict(_paths(model))
    states = _states(nodes)
    _same(
        path, "states", manifest["states"], {name: _layout(state) for name, state in states.items()}
    )
    _same(
        path,
        "attributes",
        dict.fromkeys(manifest["attributes"]),
        {
            _join(where, name): None
            for where, node in nodes.items()
            for name in type(node).checkpointed
        },
    )
    for where, _, _ in manifest["queued"]:
        if not isinstance(nodes.get(where), Dynamics):
            raise CheckpointError(
                f"{path} holds an input queued for {where!r}, which is no "
                "population or synapse of this model"
            )
    for where, node in nodes.items():
        for name in type(node).checkpointed:
            _check_attribute(
                path,
                node,
                _join(where, name),
                name,
                manifest["attributes"][_join(where, name)],
                arrays,
            )
    _check_generator(path, "refsim.random", _random.default_rng(), manifest["refsim.random"])
    _warn_if_newer(path, manifest["refsim"])
    # everything checked: now change the model
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


def _read(path: Path) -> tuple[dict, dict]:
    """The manifest and the arrays of a checkpoint file, or :class:`CheckpointError`."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path} holds a single array (.npy), not a refsim checkpoint")
        with archive:
            if "manifest" not in archive.files:
                raise CheckpointError(
                    f"{path} is an .npz archive without a manifest: not a refsim checkpoint"
                )
            manifest = json.loads(str(archive["manifest"]))
            arrays = {name: archive[name] for name in archive.files if name != "manifest"}
    except CheckpointError:
        raise
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        EOFError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as exc:
        raise CheckpointError(
            f"{path} is not a readable refsim checkpoint (truncated, "
            f"corrupt or another kind of file): {type(exc).__name__}: "
            f"{exc}"
        ) from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path}: its manifest is not a JSON object")
    return manifest, arrays


#: the manifest's entries and the JSON types each must have
_MANIFEST = {
    "format": int,
    "refsim": str,
    "model": str,
    "dt_ms": float,
    "t_ms": float,
    "states": dict,
    "queued": list,
    "attributes": dict,
    "refsim.random": dict,
}


def _check_manifest(path: Path, manifest: dict, arrays: dict) -> None:
    """:class:`CheckpointError` unless the manifest has every entry, of its kind, and the
    arrays are those it lists, of the layout it gives, finite."""
    if manifest.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {manifest.get('format')!r}; this "
            f"refsim reads format {FORMAT}"
        )
    for key, kind in _MANIFEST.items():
        value = manifest.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(
                f"{path}: its manifest's entry {key!r} is "
                f"{'missing' if key not in manifest else repr(value)[:40]}; "
                f"a {kind.__name__} is needed"
            )
        manifest[key] = value
    for key in ("dt_ms", "t_ms"):
        if not np.isfinite(manifest[key]) or (key == "dt_ms" and manifest[key] <= 0):
            raise CheckpointError(f"{path}: {key} = {manifest[key]} in its manifest")
    for name, layout in manifest["states"].items():
        array = arrays.get(f"state:{name}")
        if array is None:
            raise CheckpointError(f"{path}: the state {name} listed in its manifest is missing")
        if (
            not (isinstance(layout, list) and len(layout) == 2)
            or [list(array.shape), str(array.dtype)] != layout
        ):
            raise CheckpointError(
                f"{path}: the state {name} has shape {array.shape} and "
                f"dtype {array.dtype}; its manifest says {layout}"
            )
        _require_finite_array(name, array, str(path))
    for k, entry in enumerate(manifest["queued"]):
        if (
            not (
                isinstance(entry, list)
                and len(entry) == 3
                and all(isinstance(x, str) for x in entry)
            )
            or f"queued:{k}" not in arrays
        ):
            raise CheckpointError(
                f"{path}: the queued input {k} of its manifest is not "
                f"[path, queue, key] with an array: {entry!r}"[:200]
            )
        if entry[1] not in ("current_inputs", "delta_inputs"):
            raise CheckpointError(f"{path}: queued input {k} names the queue {entry[1]!r}")
        _require_finite_array(f"queued input {k}", arrays[f"queued:{k}"], str(path))


def _check_attribute(path: Path, node: Module, full: str, name: str, saved, arrays) -> None:
    """:class:`CheckpointError` unless ``saved`` fits the attribute ``name`` of ``node``:
    a generator's state its kind of generator takes, an array that the file holds, or a
    value of the same type that the module accepts (``Module.check_checkpointed``)."""
    now = _get_attribute(node, name)
    if isinstance(now, np.random.Generator):
        if not (isinstance(saved, dict) and "generator" in saved):
            raise CheckpointError(
                f"{path}: {full} should be a random stream's state, got {saved!r}"[:200]
            )
        _check_generator(path, full, now, saved["generator"])
    elif isinstance(now, np.ndarray):
        key = saved.get("array") if isinstance(saved, dict) else None
        if key not in arrays:
            raise CheckpointError(f"{path}: the array of {full} is missing")
        _require_finite_array(full, arrays[key], str(path))
    elif type(saved) is not type(now.item() if isinstance(now, np.generic) else now):
        raise CheckpointError(
            f"{path}: {full} is {saved!r} ({type(saved).__name__}); this "
            f"model's is a {type(now).__name__}"[:200]
        )
    else:
        problem = node.check_checkpointed(name, saved)
        if problem:
            raise CheckpointError(f"{path}: {full} = {saved!r}: {problem}")


def _check_generator(path: Path, name: str, generator, state) -> None:
    """:class:`CheckpointError` unless ``state`` can be set on a generator of the kind of
    ``generator`` (tried on a fresh one: the real one is left as it is)."""
    bit_generator = (
        generator.bit_generator if isinstance(generator, np.random.Generator) else generator
    )
    try:
        type(bit_generator)().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise CheckpointError(
            f"{path}: the state of the random stream {name} does not fit "
            f"its generator ({type(exc).__name__}: {exc})"[:300]
        ) from None


def _version_tuple(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in text.split(".")[:3])


def _warn_if_newer(path: Path, written_by: str) -> None:
    if _version_tuple(written_by) > _version_tuple(_version.__version__):
        warnings.warn(
            CheckpointWarning(
                f"{path} was written by refsim {written_by}, newer than this refsim "
                f"{_version.__version__}: its layout is one this refsim reads, but the models "
                "that wrote it may differ from these"
            ),
            stacklevel=3,
        )


def _same(path: Path, what: str, saved: dict, model: dict) -> None:
    """:class:`CheckpointError` naming the first difference between the ``what`` (name ->
    layout, or None) of a file and of the model."""
    missing, extra = [n for n in model if n not in saved], [n for n in saved if n not in model]
    if missing or extra:

        def listed(names):
            return (
                ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                if names
                else "none"
            )

        raise CheckpointError(
            f"{path} holds the {what} of another model; this model's not "
            f"in the file: {listed(missing)}; the file's not in this model: "
            f"{listed(extra)}"
        )
    for name in model:  # in the model's order: the population first
        if model[name] != saved[name]:
            (shape, dtype), (now_shape, now_dtype) = saved[name], model[name]
            raise CheckpointError(
                f"{path}: {name} was saved with shape {tuple(shape)} and "
                f"dtype {dtype}; this model's has shape {tuple(now_shape)} "
                f"and dtype {now_dtype}"
            )
