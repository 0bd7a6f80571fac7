"""Data across the sandbox boundary: what a student's function returned, and what it changed.

The judge calls the student's code in a forked, confined child (``autograder.judge.student``, ``autograder.judge.child``).
This package is the contract for what crosses back, and the only way anything does.

Going in
--------
The child is a fork of the grader: the call's *roots* (its positional and keyword arguments,
the object whose method is called, and the patched globals) reach the student's code as forked
copies, with every object's identity and contents as they were in the grader at the call.
Nothing the student's code does to them touches the grader's objects; what should be seen is
sent back, below.

Coming back
-----------
The child encodes (``encode.Encoder``) the call's result and the roots' new state into plain
data, serialised with ``torch.save`` (``dumps``); the grader reads it with
``torch.load(weights_only=True)`` (``loads``), which builds nothing but containers, numbers,
strings and tensors, so bytes from the student's process can never run code in the grader. The
``decode.Decoder`` then rebuilds:

- ``None``, ``bool``, ``int``, ``float``, ``str``; NumPy scalars as ``int`` / ``float``;
- tensors, on the CPU, keeping ``requires_grad`` and whether they had a ``grad_fn`` (they are
  then non-leaf tensors again; the graph itself stays behind); ``device`` is sent for the record;
- NumPy arrays (not of dtype object);
- ``torch.nn.Module``: as the state_dict entries the call changed (``sync.ModuleState``), applied
  to the grader's model when the model was among the roots;
- ``torch.optim`` optimizers, rebuilt over the grader's own parameters (options and step counts
  kept), and their schedulers (``LRScheduler``): in a tuple ``(optimizer, scheduler)`` the scheduler comes back
  as a ``ReplayedSchedule`` that sets the rates the student's would have set
  (``optimizers``);
- ``dict`` with keys that are ``None``, bool, int, float or str; ``list``, ``tuple``, ``set``,
  ``frozenset`` of all of these (exact types: a subclass is not a container here);
- *aliases*: an object that is (part of) a root, or a parameter of a model among them, comes
  back as a path into the roots, so ``result is data`` or "the model passed in" still hold on
  the grader's side;
- everything else as an ``Opaque`` (its type's name and a short repr): a generator, a socket, a
  function, an instance of a class of the student's.

An argument that is plain data (lists, dicts, strings, numbers) and whose content the call did
not change comes back as an alias of itself (``encode.plain_digest``, taken when the child
starts and after the call), so a KB or a list of results does not travel back for nothing.
The roots' new state is applied in place (``sync.update_in_place``): a list the function
appended to is the grader's same list with the new item; a model it trained keeps its identity
and gets the new weights; an object that was among the roots before the call keeps its
identity wherever the student's code moved it.

Spies and patched globals
-------------------------
Nothing else of the grader's own comes back: not a closure's cells, not what an object of a
check's class recorded in its attributes, unless that object is a *spy*:

- ``Spy`` (a base class, also for stub models: ``class Stub(Spy, torch.nn.Module)``)
  or ``@spy`` (a class decorator) marks a check's class whose instances record what the
  student's code does with them. After each call, each spy's public attributes (names not
  starting with ``_``; a module's ``training`` flag excepted) are encoded like any other value
  and applied to the grader's spy: lists, dicts and models updated in place, other values
  replaced, values that cannot cross (``Opaque``) leaving the attribute as it was. A spy among
  a model's submodules comes back with the model.
- ``patched_globals(function, **names)`` sets names in the student's globals for the calls made
  meanwhile, and restores them afterwards, also on error. On the judge's proxy for a student's
  function (``StudentFunction``), ``__globals__`` is a dict of patches, sent with each call as
  the root ``globals`` (so a spy placed there comes back too) and set in the child's namespace
  before the call; outside the judge it is the plain function's real ``__globals__``.
- Before each call the judge runs ``check_crossing(roots)``: a check's own object that could not
  come back (an object of a class defined in an ``autograder.*`` module that is not a spy, or a
  closure defined there) is refused with a ``TypeError`` that names it, rather than letting the
  check silently see nothing. Plain functions, everything the notebook or the reference
  defined (``__main__``, ``reference_*``), library objects (torch, NumPy) and the judge's own
  proxies pass as before.

Modules: ``encode`` (child side), ``decode`` (grader side), ``optimizers`` (optimizers and
schedulers, both sides), ``sync`` (applying new state), ``spies`` (spies, patched globals, the
guard).
"""

from __future__ import annotations

from autograder.judge.transport.decode import Decoder, Opaque, loads
from autograder.judge.transport.encode import Encoder, dumps, plain_digest, tensor_versions
from autograder.judge.transport.optimizers import RECORDED_STEPS, ReplayedSchedule
from autograder.judge.transport.spies import Spy, check_crossing, is_spy, patched_globals, spy
from autograder.judge.transport.sync import ModuleState, SpyState, update_in_place

__all__ = ["Decoder", "Encoder", "ModuleState", "Opaque", "RECORDED_STEPS", "ReplayedSchedule",
           "Spy", "SpyState", "check_crossing", "dumps", "is_spy", "loads", "patched_globals",
           "plain_digest", "spy", "tensor_versions", "update_in_place"]
