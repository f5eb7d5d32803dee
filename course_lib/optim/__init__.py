"""Every optimizer of the course, written from scratch.

Each optimizer is two things:

* a pure, in-place update function for one tensor, whose lines match the lesson's equations
  one to one (``sgd_update_``, ``adagrad_update_``, ``rmsprop_update_``, ``adam_update_``,
  ``adamw_update_``, ``lion_update_``); and
* a real ``torch.optim.Optimizer`` built on it (``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``,
  ``AdamW``, ``Lion``), with torch's argument names, defaults and state names: param groups,
  ``state_dict()`` / ``load_state_dict()`` and ``torch.optim.lr_scheduler`` all work, and the
  numbers match ``torch.optim`` (the tests compare them). Each class holds only its defaults,
  its settings check and the call of its update function for one parameter; the ``step()``
  loop they share is ``course_lib.optim._base.PerTensorOptimizer``.

``AdamW``'s update is literally "decay the weights, then Adam's update": ``adamw_update_``
calls ``adam_update_``.

``Lion`` (Chen et al. 2023) and ``Muon`` (Jordan et al. 2024, for weight matrices only) have no
counterpart in ``torch.optim``; their tests compare them with a plain transcription of the
paper's pseudocode and of the authors' reference code instead.

What ``torch.optim`` has and these do not, on purpose: the speed switches (``foreach``,
``fused``, ``capturable``, ``differentiable``), tensor-valued hyperparameters (``lr``, ``betas``
are plain numbers here), sparse gradients (rejected with a clear error) and complex parameters
(except in SGD). Stricter checks than torch's: ``eps`` must be > 0, RMSprop's ``alpha`` must
be < 1, ``dampening`` must be in [0, 1], and every param group is validated, not just the
constructor's arguments.

Example::

    from course_lib.optim import AdamW
    opt = AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
"""

from course_lib.optim.adagrad import Adagrad, adagrad_update_
from course_lib.optim.adam import Adam, adam_update_
from course_lib.optim.adamw import AdamW, adamw_update_
from course_lib.optim.lion import Lion, lion_update_
from course_lib.optim.muon import Muon, muon_update_, orthogonalize, split_for_muon
from course_lib.optim.rmsprop import RMSprop, rmsprop_update_
from course_lib.optim.sgd import SGD, sgd_update_

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "Lion",
    "Muon",
    "sgd_update_",
    "adagrad_update_",
    "rmsprop_update_",
    "adam_update_",
    "adamw_update_",
    "lion_update_",
    "muon_update_",
    "orthogonalize",
    "split_for_muon",
]
